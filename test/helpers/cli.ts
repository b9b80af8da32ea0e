/**
 * Run the real `rtc-cli` binary (bin/rtc-cli.js → dist/) as a child process. Tests must `npm run build` first; the
 * global setup in test/setup/build.ts does it once per run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/rtc-cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Kill the process (SIGKILL) after this many ms; the test then sees code null. Default 60 s. */
  timeoutMs?: number;
  /**
   * Another rtc-cli command to run, executed directly through its shebang like a shell would (e.g. the `rtc-cli` an
   * installed package put in <prefix>/bin). Default: `node bin/rtc-cli.js` of this checkout.
   */
  bin?: string;
}

function childEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // No colors, no TTY tricks, no inherited signaling URL: tests say what they mean.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  if (!extra || !('RTC_SIGNAL_URL' in extra)) delete env.RTC_SIGNAL_URL;
  return env;
}

/** Start the bin and return the live child (for long-running commands like serve, recv-file). */
export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcessWithoutNullStreams {
    const [cmd, argv] = opts.bin ? [opts.bin, args] : [process.execPath, [BIN, ...args]];
  return spawn(cmd, argv, { env: childEnv(opts.env), cwd: opts.cwd, stdio: 'pipe' });
}

/** Run the bin to completion and collect its output. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  return collect(child, opts);
}

/** `keepStdin`: leave the child's stdin open for the caller to write and end (otherwise it gets `input`, or EOF). */
export function collect(
  child: ChildProcessWithoutNullStreams,
  opts: Pick<CliOptions, 'input' | 'timeoutMs'> & { keepStdin?: boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (opts.keepStdin) return;
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Resolve with the first stdout line (parsed as JSON) that satisfies `pred`, or reject after timeoutMs. */
export function waitForJsonLine<T = Record<string, unknown>>(
  child: ChildProcessWithoutNullStreams,
  pred: (obj: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.stdout.off('data', onData);
      reject(new Error(`no matching JSON line within ${timeoutMs} ms; stdout so far: ${buf.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer | string): void => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const obj = JSON.parse(line) as T;
          if (pred(obj)) {
            clearTimeout(timer);
            child.stdout.off('data', onData);
            resolve(obj);
            return;
          }
        } catch {
          /* not JSON: ignore */
        }
      }
    };
    child.stdout.on('data', onData);
  });
}

/** The result object of a `--json` run: its last stdout line, parsed. */
export function lastJsonLine<T>(r: CliResult): T {
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
