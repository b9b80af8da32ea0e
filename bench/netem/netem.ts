/**
 * A path with latency and loss between two network namespaces, for benchmarks (this kernel has no sch_netem, so
 * `tc qdisc add ... netem` is not available; bench/netem/relay.c does the same job in userspace).
 *
 *   <name>-a   tun0  10.201.0.1  peer 10.201.0.2
 *   <name>-b   tun0  10.201.0.2  peer 10.201.0.1
 *
 * The two TUN devices are joined by the relay process, which delays every packet by RTT/2 in each direction and drops
 * UDP packets with the given probability (each direction). Nothing else connects the namespaces: every packet between
 * A and B crosses the relay, and no traffic leaves the namespaces this helper created.
 *
 *   const path = await createNetem({ rttMs: 50, lossPct: 1 });
 *   spawn(path.exec('a', ['node', 'peer.js']));       // ip netns exec <name>-a node peer.js
 *   await path.setConditions({ rttMs: 20, lossPct: 0 });
 *   const s = await path.stats();                     // packets forwarded / lost / overflowed, relay CPU seconds
 *   await path.destroy();
 *
 * Needs root, iproute2 and a C compiler (gcc or cc); the relay is compiled once per process into a temporary directory.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ADDR_A = '10.201.0.1';
export const ADDR_B = '10.201.0.2';

export interface Conditions {
  /** Round-trip time added by the relay, in ms (half in each direction). */
  rttMs: number;
  /** Percentage of UDP packets dropped, in each direction independently. */
  lossPct: number;
}

export interface DirectionStats {
  forwarded: number;
  bytes: number;
  lost: number;
  /** Dropped because the delay queue was full (--limit packets). */
  overflow: number;
  queued: number;
}

export interface RelayStats {
  cpuSeconds: number;
  aToB: DirectionStats;
  bToA: DirectionStats;
}

export interface Netem {
  readonly nsA: string;
  readonly nsB: string;
  readonly addrA: string;
  readonly addrB: string;
  conditions: Conditions;
  /** The relay process id (for CPU sampling). */
  readonly relayPid: () => number;
  /** argv that runs `argv` inside namespace A or B. */
  exec(side: 'a' | 'b', argv: string[]): string[];
  /** Restart the relay with new conditions (the namespaces and addresses stay). */
  setConditions(c: Conditions): Promise<void>;
  stats(): Promise<RelayStats>;
  destroy(): Promise<RelayStats | undefined>;
}

const RELAY_SOURCE = fileURLToPath(new URL('./relay.c', import.meta.url));
let compiled: string | undefined;

/** Compile relay.c once per process. */
export function relayBinary(): string {
  if (compiled) return compiled;
  const dir = mkdtempSync(join(tmpdir(), 'rtc-netem-'));
  const out = join(dir, 'relay');
  const cc = ['gcc', 'cc'].find((c) => {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!cc) throw new Error('bench/netem needs a C compiler (gcc or cc): apt-get install gcc');
  execFileSync(cc, ['-O2', '-Wall', '-o', out, RELAY_SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  compiled = out;
  return out;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

class Relay {
  private readonly lines: ((line: string) => void)[] = [];
  private readonly exited: Promise<void>;
  private lastLine: string | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lastLine = l;
      this.lines.shift()?.(l);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (process.env.NETEM_TRACE) process.stderr.write(d);
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        if (code !== 0 && code !== null) process.stderr.write(`netem relay exited ${code}: ${stderr}`);
        resolve();
      }),
    );
  }

  nextLine(timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('netem relay did not answer')), timeoutMs);
      this.lines.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  }

  async stats(): Promise<RelayStats> {
    const line = this.nextLine();
    this.child.kill('SIGUSR1');
    return JSON.parse(await line) as RelayStats;
  }

  async stop(): Promise<RelayStats | undefined> {
    this.child.kill('SIGTERM');
    await this.exited;
    try {
      return JSON.parse(this.lastLine ?? '') as RelayStats;
    } catch {
      return undefined;
    }
  }
}

let counter = 0;

export async function createNetem(initial: Conditions, opts: { limit?: number; seed?: number } = {}): Promise<Netem> {
  if (process.getuid?.() !== 0) throw new Error('bench/netem needs root (network namespaces, TUN devices)');
  const bin = relayBinary();
  const name = `rtcperf-${process.pid}-${counter++}`;
  const nsA = `${name}-a`;
  const nsB = `${name}-b`;
  const cleanup = (): void => {
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const [ns, local, peer] of [
      [nsA, ADDR_A, ADDR_B],
      [nsB, ADDR_B, ADDR_A],
    ] as const) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
      ip('-n', ns, 'addr', 'add', local, 'peer', peer, 'dev', 'tun0');
      ip('-n', ns, 'link', 'set', 'tun0', 'up');
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  const startRelay = async (c: Conditions): Promise<Relay> => {
    const child = spawn(bin, [
      '--ns-a', `/run/netns/${nsA}`, '--tun-a', 'tun0',
      '--ns-b', `/run/netns/${nsB}`, '--tun-b', 'tun0',
      '--delay-us', String(Math.round((c.rttMs * 1000) / 2)),
      '--loss', String(c.lossPct),
      '--limit', String(opts.limit ?? 10_000),
      '--seed', String(opts.seed ?? 1),
      ...(process.env.NETEM_TRACE ? ['--trace', '1'] : []),
    ]);
    const relay = new Relay(child);
    const ready = await relay.nextLine();
    if (!ready.includes('"ready"')) throw new Error(`netem relay: ${ready}`);
    return relay;
  };
  let relay = await startRelay(initial).catch((e: unknown) => {
    cleanup();
    throw e;
  });
  const onExit = (): void => {
    relay.child.kill('SIGKILL');
    cleanup();
  };
  process.once('exit', onExit);
  const path: Netem = {
    nsA,
    nsB,
    addrA: ADDR_A,
    addrB: ADDR_B,
    conditions: initial,
    relayPid: () => relay.child.pid!,
    exec: (side, argv) => ['ip', 'netns', 'exec', side === 'a' ? nsA : nsB, ...argv],
    async setConditions(c) {
      await relay.stop();
      relay = await startRelay(c);
      path.conditions = c;
    },
    stats: () => relay.stats(),
    async destroy() {
      const last = await relay.stop();
      process.removeListener('exit', onExit);
      cleanup();
      return last;
    },
  };
  return path;
}
