import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface CliProcess {
  child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  output: string[];
  /** Resolves with the port once the web server says it listens. */
  port: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the built `forcehook` command (`npm test` builds first) as a real child process. */
export function runCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [resolve('dist/src/cli/main.js'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let resolvePort: (port: number) => void = () => undefined;
  let rejectPort: (err: Error) => void = () => undefined;
  const port = new Promise<number>((res, rej) => {
    resolvePort = res;
    rejectPort = rej;
  });
  // Callers that wait for the exit instead must not see an unhandled rejection.
  port.catch(() => undefined);
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      output.push(line);
      const m = /listening on port (\d+)/.exec(line);
      if (m) resolvePort(Number(m[1]));
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => {
      rejectPort(new Error(`forcehook exited (${code ?? signal}) before listening:\n${output.join('\n')}`));
      r({ code, signal });
    }),
  );
  return { child, output, port, exited };
}
