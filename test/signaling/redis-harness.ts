/**
 * Pieces of the multi-instance tests: real `rtc-cli serve --redis` processes (the bin), their /healthz, and a plain
 * TCP load balancer (round robin over the instances that accept a connection), which is what operators put in front.
 */
import { afterEach } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { collect, spawnCli, waitForJsonLine, type CliResult } from '../helpers/cli.js';

export interface Instance {
  child: ChildProcessWithoutNullStreams;
  port: number;
  signal: string;
  url: string;
  listening: Record<string, unknown>;
  /** Every stdout line so far, parsed. */
  events: Record<string, unknown>[];
  /** Resolves when the process exits. */
  done: Promise<CliResult>;
  health(): Promise<{ status: number; body: Record<string, unknown> & { rooms: number; peersInRooms: number; status: string } }>;
}

const children: ChildProcessWithoutNullStreams[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

const configDir = mkdtempSync(join(tmpdir(), 'rtc-redis-cfg-'));

/**
 * Start `rtc-cli serve --port 0 --json --redis <url> ...args` and wait for its listening line. It is killed after the
 * test unless `keep` (an instance started in beforeAll: the file stops it in afterAll).
 */
export async function startInstance(redisUrl: string | undefined, args: string[] = [], env: NodeJS.ProcessEnv = {}, keep = false): Promise<Instance> {
  const argv = ['serve', '--port', '0', '--json', ...(redisUrl !== undefined ? ['--redis', redisUrl] : []), ...args];
  const child = spawnCli(argv, { env: { RTC_CLI_CONFIG_DIR: configDir, ...env } });
  if (!keep) children.push(child);
  const events: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not JSON */
      }
    }
  });
  const done = collect(child, { timeoutMs: 180_000 });
  const listening = await waitForJsonLine(child, (o) => o.event === 'listening', 30_000);
  const port = listening.port as number;
  const url = listening.url as string;
  return {
    child,
    port,
    signal: listening.signal as string,
    url,
    listening,
    events,
    done,
    async health() {
      const res = await fetch(`${url}healthz`);
      return { status: res.status, body: (await res.json()) as Awaited<ReturnType<Instance['health']>>['body'] };
    },
  };
}

/**
 * A TCP load balancer on 127.0.0.1:0: each new connection goes to the next backend (round robin) that accepts it; a
 * backend that refuses (a draining instance stopped listening) is skipped. `ws://127.0.0.1:<port>/ws` reaches them.
 */
export async function startBalancer(backends: number[]): Promise<{ port: number; signal: string; picks: number[] }> {
  let next = 0;
  const picks: number[] = [];
  const server = createServer((client: Socket) => {
    client.pause();
    const tryBackend = (left: number): void => {
      if (left === 0) return void client.destroy();
      const port = backends[next++ % backends.length]!;
      const up = connect(port, '127.0.0.1');
      up.once('error', () => tryBackend(left - 1));
      up.once('connect', () => {
        picks.push(port);
        up.removeAllListeners('error');
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.pipe(up).pipe(client);
        client.resume();
      });
    };
    tryBackend(backends.length);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, signal: `ws://127.0.0.1:${port}/ws`, picks };
}
