/**
 * Shared pieces of the peer e2e tests: a real signaling server in-process on 127.0.0.1:0, random files, and the real
 * rtc-cli binary for both peers, always confined to loopback (--ice-address 127.0.0.1, no ICE servers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createReadStream, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/server.js';
import { collect, spawnCli, type CliResult } from './cli.js';
import type { TransferResult } from '../../src/rtc/file-transfer.js';
import type { Step } from './hostile-sender.js';

export type { Step };

export { collect, spawnCli, type CliResult };

export async function startServer(): Promise<SignalingServer> {
  return startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null });
}

export interface PeerTestBed {
  readonly server: SignalingServer;
  readonly dir: string;
  /** A directory under `dir` (created, with parents). */
  sub(name: string): string;
}

/** A signaling server and a scratch directory for one test file: started before its tests, removed after. */
export function peerTestBed(prefix: string): PeerTestBed {
  let server: SignalingServer | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    server = await startServer();
    dir = await tempDir(prefix);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await removeDir(dir);
  });
  return {
    get server() {
      return server!;
    },
    get dir() {
      return dir!;
    },
    sub(name) {
      const p = join(dir!, name);
      mkdirSync(p, { recursive: true });
      return p;
    },
  };
}

let roomCounter = 0;
export function uniqueRoom(prefix = 'peer'): string {
  roomCounter += 1;
  return `${prefix}-${process.pid}-${roomCounter}-${randomBytes(3).toString('hex')}`;
}

export async function tempDir(prefix = 'rtc-peer-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Write `size` random bytes (in 1 MiB pieces, so a 50 MB file does not need 50 MB of RAM). */
export async function randomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, 'w');
  const h = createHash('sha256');
  try {
    let left = size;
    while (left > 0) {
      const buf = randomBytes(Math.min(left, 1 << 20));
      h.update(buf);
      await fh.write(buf);
      left -= buf.length;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The child's output and exit, leaving its stdin open (unlike collect(): manual mode reads the pasted line from it). */
export function exitOf(child: ChildProcessWithoutNullStreams, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The flags every test peer gets: loopback only, JSON output. */
export function peerFlags(signal: string, room: string): string[] {
  return ['--signal', signal, '--room', room, '--ice-address', '127.0.0.1', '--json'];
}

/** Parse NDJSON stdout into objects (non-JSON lines are skipped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      /* partial line from a killed process */
    }
  }
  return out;
}

/** The final result object (has `files`) or the error object of a run. */
export function resultOf(r: CliResult): Record<string, unknown> & { files?: Record<string, unknown>[]; failed?: Record<string, unknown>[] } {
  const lines = jsonLines(r.stdout);
  const res = [...lines].reverse().find((o) => 'files' in o || 'error' in o);
  if (!res) throw new Error(`no result line; code ${r.code}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  return res as ReturnType<typeof resultOf>;
}

export function errorCode(r: CliResult): string | undefined {
  const res = resultOf(r) as { error?: { code?: string } };
  return res.error?.code;
}

/** Resolve once a progress event with at least `minBytes` shows up on the child's stdout. */
export function waitForProgress(child: ChildProcessWithoutNullStreams, minBytes: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.stdout.off('data', onData);
      reject(new Error(`no progress >= ${minBytes} bytes within ${timeoutMs} ms; stdout tail: ${buf.slice(-500)}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.includes('"progress"')) continue;
        try {
          const o = JSON.parse(line) as { event?: string; bytes?: number };
          if (o.event === 'progress' && (o.bytes ?? 0) >= minBytes) {
            clearTimeout(timer);
            child.stdout.off('data', onData);
            resolve();
            return;
          }
        } catch {
          /* ignore */
        }
      }
    };
    child.stdout.on('data', onData);
  });
}

/** The TransferResult of a successful run (its last JSON line). */
export function transferResult(r: CliResult): TransferResult {
  const res = resultOf(r);
  if (!('files' in res)) throw new Error(`expected a result, got ${JSON.stringify(res).slice(0, 500)}\nstderr: ${r.stderr.slice(-1000)}`);
  return res as unknown as TransferResult;
}

/** The TransferResult carried in the error details of a failed run. */
export function failedResult(r: CliResult): TransferResult {
  const res = resultOf(r) as { error?: { details?: { result?: TransferResult } } };
  const out = res.error?.details?.result;
  if (!out) throw new Error(`expected an error with a result, got ${JSON.stringify(res).slice(0, 500)}`);
  return out;
}

/** Where recv-file keeps its partial files inside --out (docs/file-transfer-protocol.md §Partial files). */
export const PARTIAL_DIR = '.rtc-cli-partial';

/** The partial files recv-file keeps in `out` (none when its partial directory is absent). */
export function partials(out: string): string[] {
  try {
    return readdirSync(join(out, PARTIAL_DIR)).sort();
  } catch {
    return [];
  }
}

/** The path of the one partial file of `name` in `out`: `<name>.<24 hex>.part`. */
export function partialOf(out: string, name: string): string {
  const found = partials(out).filter((p) => p.startsWith(`${name}.`) && /\.[0-9a-f]{24}\.part$/.test(p));
  if (found.length !== 1) throw new Error(`expected one partial file of ${name} in ${out}, found ${JSON.stringify(partials(out))}`);
  return join(out, PARTIAL_DIR, found[0]!);
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Start the scripted hostile sender (test/helpers/hostile-sender.ts, a werift peer in its own process) in `room`. Its
 * stdout is NDJSON: `recv` events carry what the receiver sent it.
 */
export async function spawnHostileSender(signal: string, room: string, steps: Step[], scriptDir: string): Promise<ChildProcessWithoutNullStreams> {
  const script = join(scriptDir, `hostile-${room}.json`);
  await writeFile(script, JSON.stringify(steps));
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/hostile-sender.ts'), signal, room, script], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** The messages the receiver sent the hostile sender (its `recv` events), in order. */
export function receivedBySender(r: CliResult): Record<string, unknown>[] {
  return jsonLines(r.stdout).filter((o) => o.event === 'recv').map((o) => o.msg as Record<string, unknown>);
}

/** Run send-file; `input` goes to its stdin (it may stop reading early: a refused stream is not an error here). */
export function runSender(args: string[], input?: Buffer): Promise<CliResult> {
  const child = spawnCli(['send-file', ...args]);
  child.stdin.on('error', () => {});
  return collect(child, { input, timeoutMs: 120_000 });
}
