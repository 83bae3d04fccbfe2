import { existsSync } from 'node:fs';

/**
 * Debian's Chromium (apt-get install chromium; .ci/run installs it), or CHROMIUM_PATH. Playwright's
 * own browser download cannot run here, so the browser tests drive the system one.
 */
export function chromiumPath(): string | undefined {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** Flags that keep a headless Chromium off the network it cannot reach here, and running as root. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
