/**
 * Helpers of bench/datachannel (the shared rules and statistics are in bench/lib): measured child processes, stall
 * detection for one transfer between two of them, the unpatched werift copy.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { readWeriftPatchState } from '../../src/rtc/werift-patches.js';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From /usr/bin/time (whole process); NaN when the process was killed before it could report. */
  cpuSeconds: number;
  maxRssMB: number;
}

export interface Measured {
  done: Promise<ProcResult>;
  write(s: string): void;
  /** Signal the whole process group (ip netns exec / taskset / time exec or fork into it). */
  kill(signal: NodeJS.Signals): void;
  /**
   * SIGINT to the group, SIGKILL 5 s later if it is still there. Node exits on SIGINT and /usr/bin/time (which ignores
   * it) reaps it, so its CPU still counts as this benchmark's own in bench/lib's load figures; after a SIGKILL of time
   * the orphan would be reaped by init and counted as "other" load.
   */
  interrupt(): void;
}

/**
 * Run `argv` pinned to `cpu` under /usr/bin/time, optionally inside a namespace (`prefix`, e.g. ip netns exec).
 * BENCH_UNPINNED=1 lets every process use every core instead (to see what pinning a side to one core costs it: the
 * JavaScript thread and a native engine's own threads then share that core).
 */
export function measured(cpu: number, argv: string[], o: { prefix?: string[]; onLine?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Measured {
  const cores = process.env.BENCH_UNPINNED === '1' ? `0-${availableParallelism() - 1}` : String(cpu);
  const full = [...(o.prefix ?? []), 'taskset', '-c', cores, '/usr/bin/time', '-f', 'TIME %U %S %M', ...argv];
  const child = spawn(full[0]!, full.slice(1), { stdio: 'pipe', detached: true, env: { ...process.env, NO_COLOR: '1', ...o.env } });
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (l) => {
    stdout += l + '\n';
    o.onLine?.(l);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  let exited = false;
  const done = new Promise<ProcResult>((resolve) =>
    child.on('close', (code, signal) => {
      exited = true;
      const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN,
        maxRssMB: m ? Number(m[3]) / 1024 : NaN,
      });
    }),
  );
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    done,
    write: (s) => void child.stdin.write(s),
    kill,
    interrupt: () => {
      kill('SIGINT');
      setTimeout(() => !exited && kill('SIGKILL'), 5_000).unref();
    },
  };
}

export type Outcome = 'complete' | 'capped' | 'stalled';

/**
 * Watch one transfer: `progress(bytes)` is fed by the caller from the receiver's output. The transfer is "stalled"
 * when the bytes do not move for `stallMs` (or nothing starts within `setupMs`), "capped" when it ran `capMs` since its
 * first progress, else "complete" when `finished` resolves. Calls `stop(reason)` for the first two.
 */
export class Watch {
  private last = -1;
  private lastChange = Date.now();
  private started: number | undefined;
  private timer: NodeJS.Timeout;
  outcome: Outcome = 'complete';

  constructor(
    private readonly o: { stallMs: number; setupMs: number; capMs: number },
    stop: (reason: Outcome) => void,
  ) {
    const t0 = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (this.started === undefined && now - t0 > o.setupMs) this.end('stalled', stop);
      else if (this.started !== undefined && now - this.lastChange > o.stallMs) this.end('stalled', stop);
      else if (this.started !== undefined && now - this.started > o.capMs) this.end('capped', stop);
    }, 250);
  }

  progress(bytes: number): void {
    this.started ??= Date.now();
    if (bytes !== this.last) {
      this.last = bytes;
      this.lastChange = Date.now();
    }
  }

  private end(outcome: Outcome, stop: (reason: Outcome) => void): void {
    if (this.outcome !== 'complete') return;
    this.outcome = outcome;
    clearInterval(this.timer);
    stop(outcome);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * An unpatched copy of the installed werift: node_modules/werift copied to `<dir>/node_modules/werift`, then
 * patch-package --reverse with this repository's patches. `dir` must be inside the repository so that werift's own
 * dependencies still resolve from its node_modules. Throws if node_modules/werift is not the patched one.
 */
export function prepareStockWerift(root: string, dir: string): string {
  const patched = readWeriftPatchState(root, join(root, 'dist/cli.js'));
  if (!patched.patched) throw new Error(`node_modules/werift is not patched (${JSON.stringify(patched)}): run npm ci first`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'werift-stock-for-bench', private: true }));
  cpSync(join(root, 'node_modules/werift'), join(dir, 'node_modules/werift'), { recursive: true, dereference: false });
  execFileSync(process.execPath, [join(root, 'node_modules/patch-package/dist/index.js'), '--reverse', '--patch-dir', relative(dir, join(root, 'patches')), '--error-on-fail'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const stock = readWeriftPatchState(root, join(dir, 'x.js'));
  if (stock.patched || stock.applied.length > 0 || existsSync(join(dir, 'node_modules/werift/.patch-package.json'))) {
    throw new Error(`could not reverse the patches in ${dir}: ${JSON.stringify(stock)}`);
  }
  return join(dir, 'node_modules/werift');
}

