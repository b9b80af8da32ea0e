/**
 * Pieces shared by the test/ci tests, which run an rtc-cli bin (this checkout's, or the one of an installed package)
 * the way a user would: `serve` on port 0 with the embedded STUN server, and a send-file/recv-file pair through it.
 * Everything stays on 127.0.0.1 (--ice-address 127.0.0.1, no ICE servers).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { collect, spawnCli, type CliOptions, type CliResult } from '../helpers/cli.js';

export interface RunningServe {
  child: ChildProcessWithoutNullStreams;
  port: number;
  signal: string;
  /** The embedded STUN server's URL when started with --stun-port. */
  stunUrl?: string;
  /** Everything serve printed so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code and output (serve exits 0 on SIGTERM). */
  stop(): Promise<CliResult>;
}

/**
 * Start `serve --port 0` (plus `extra` flags) and wait until it prints its page URL — in the human banner or in the
 * --json `listening` event, the same regex matches both — and, with --stun-port, the STUN URL.
 */
export async function startServe(extra: string[], opts: CliOptions = {}): Promise<RunningServe> {
  const child = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', ...extra], opts);
  const done = collect(child, { timeoutMs: opts.timeoutMs ?? 120_000 });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const wantStun = extra.includes('--stun-port');
  const found = await new Promise<{ port: number; stunUrl?: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL within 20 s\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    const check = (): void => {
      const page = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      const stun = /stun:127\.0\.0\.1:(\d+)/.exec(out);
      if (page && (!wantStun || stun)) {
        clearTimeout(timer);
        resolve({ port: Number(page[1]), stunUrl: stun ? `stun:127.0.0.1:${stun[1]}` : undefined });
      }
    };
    child.stdout.on('data', check);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its URL\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return {
    child,
    port: found.port,
    signal: `ws://127.0.0.1:${found.port}/ws`,
    stunUrl: found.stunUrl,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return done;
    },
  };
}

/** Wait for a child to exit without touching its stdin (manual signaling pastes lines into it). */
export function exitOf(child: ChildProcessWithoutNullStreams, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolve with the first stdout line matching `re` (the child keeps running). */
export function firstLine(child: ChildProcessWithoutNullStreams, re: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    const onErr = (d: Buffer): void => {
      errBuf += d.toString();
    };
    const timer = setTimeout(() => {
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      reject(new Error(`no stdout line matching ${re} within ${timeoutMs} ms\nstdout: ${buf.slice(-1500)}\nstderr: ${errBuf.slice(-1500)}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      resolve(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onErr);
  });
}

/**
 * One file from send-file to recv-file through a signaling server, both loopback-only. `flags` go to both sides
 * (e.g. ['--quiet']); the receiver starts first, as a user would.
 */
export async function transferPair(
  signal: string,
  room: string,
  file: string,
  outDir: string,
  flags: string[],
  opts: CliOptions & { recvFlags?: string[] } = {},
): Promise<{ send: CliResult; recv: CliResult }> {
  const common = ['--signal', signal, '--room', room, '--ice-address', '127.0.0.1', '--timeout', '30', ...flags];
  const recv = collect(spawnCli(['recv-file', '--out', outDir, ...common, ...(opts.recvFlags ?? [])], opts), { timeoutMs: 90_000 });
  const send = collect(spawnCli(['send-file', file, ...common], opts), { timeoutMs: 90_000 });
  const [s, r] = await Promise.all([send, recv]);
  return { send: s, recv: r };
}
