#!/usr/bin/env node
// The CLI's entry point. It checks the Node version before loading anything that needs a newer one
// (undici, pg-boss), so an old Node gets one line that says what to install instead of a stack trace.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('../../../scripts/check-node.cjs');
await import('./commands.js');
