/**
 * bench/signaling: clients in rooms of two relaying ~200-byte messages to their room-mate, driven by rtc-cli's own
 * load generator (src/load, the library behind `rtc-cli load signaling`), against three setups side by side in one run:
 *
 *   one       one in-memory `rtc-cli serve` on core 1 (generator on core 0): the default deployment
 *   redis2    two `rtc-cli serve --redis` instances, one per core (taskset -c 0 / -c 1), one redis-server
 *   socketio2 two socket.io servers with @socket.io/redis-adapter, one per core, one redis-server (the reference users
 *             would pick instead); spoken to with the same generator (bench/signaling/socketio-protocol.ts)
 *
 * In the two-instance setups half the rooms have both peers on one instance and half are split across the two
 * (latency is reported for both groups). Each round climbs a ladder of offered rates over the same connections and
 * stops after two saturated steps; rounds alternate the order of the setups. Summary per setup: the median round
 * (bench/lib: never the best value across rounds), its saturated rate (highest delivery rate of the round) and its
 * "within bound" rate (the highest rate up to which every step had p50 < 1 ms, p99 < 10 ms and nothing lost).
 * Then an overload probe: the one-instance setup at 1.3× its saturated rate, drained for 20 s instead of 2 s, with the
 * server's /metrics read before and after, to tell messages the server dropped from messages that arrived late.
 *
 *   npm run build && npx tsx bench/signaling/run.ts [--clients 2000] [--rounds 3] [--steps 2000,5000,...] [--no-write]
 *
 * Traffic goes to 127.0.0.1 only. Writes the `<!-- bench:signaling -->` section of bench/RESULTS.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoadSession, type LoadProtocol, type StepResult } from '../../src/load/index.js';
import { SOCKETIO_PROTOCOL } from './socketio-protocol.js';
import {
  ROOT,
  commandLine,
  fmt,
  formatLoad,
  highestWithinBound,
  loadBetween,
  machineHeader,
  machineInfo,
  median,
  medianRound,
  mdTable,
  sampleCpu,
  startLoadMonitor,
  toolVersion,
  writeResultsSection,
} from '../lib/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const CLIENTS = Number(arg('clients', '2000'));
const ROUNDS = Number(arg('rounds', '3'));
const STEPS = arg('steps', '2000,5000,10000,15000,20000,25000,30000,40000,50000,60000').split(',').map(Number);
const STEP_MS = Number(arg('step-seconds', '2')) * 1000;
const WARM_MS = 500;
const ONLY = arg('only', '');
const WRITE = !process.argv.includes('--no-write');
const BIN = path.join(ROOT, 'bin/rtc-cli.js');

type SetupName = 'one' | 'redis2' | 'socketio2';
const SETUPS: { name: SetupName; label: string }[] = [
  { name: 'one', label: 'rtc-cli, 1 instance (memory)' },
  { name: 'redis2', label: 'rtc-cli, 2 instances + Redis' },
  { name: 'socketio2', label: 'socket.io + redis-adapter, 2 instances' },
];

interface Step extends StepResult {
  /** CPU of the servers (and redis-server) in % of one core; of this process (the generator). */
  serverCpu: number;
  redisCpu: number;
  genCpu: number;
  /** Cores used by processes outside this benchmark during the step (bench/lib/load.ts). */
  otherCores: number;
}
interface Round {
  setup: SetupName;
  round: number;
  joined: number;
  joinAllS: number;
  steps: Step[];
  saturated: number;
  withinBound: Step | undefined;
  peakRssMB: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}
function peakRssMB(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Proc {
  child: ChildProcess;
  port: number;
  metrics?: string;
}

/** Spawn, pinned to `cpu`, and wait for a JSON line with a port. */
async function spawnPinned(cpu: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn('taskset', ['-c', cpu, process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start within 30 s`)), 30_000);
    let buf = '';
    let done = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (done) return; // keep reading (the serve log must not block on a full pipe), stop parsing
      buf += d.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        try {
          const o = JSON.parse(line) as { port?: number; metrics?: string };
          if (typeof o.port === 'number') {
            done = true;
            clearTimeout(timer);
            resolve({ child, port: o.port, metrics: o.metrics });
            return;
          }
        } catch {
          /* not JSON */
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.on('exit', (c) => reject(new Error(`${argv.join(' ')} exited with ${c}`)));
  });
}

const SERVE_FLAGS = ['--port', '0', '--json', '--max-per-address', '100000', '--max-connections', '100000', '--rate', '100000', '--burst', '100000', '--metrics-port', '0', '--log-rate', '1'];

interface Running {
  procs: Proc[];
  redis?: ChildProcess;
  redisDir?: string;
  urls: string[];
  protocol?: LoadProtocol;
}

async function startRedis(): Promise<{ child: ChildProcess; url: string; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG')) return { child, url: `redis://127.0.0.1:${port}`, dir };
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}

async function startSetup(name: SetupName): Promise<Running> {
  if (name === 'one') {
    const p = await spawnPinned('1', [BIN, 'serve', ...SERVE_FLAGS]);
    return { procs: [p], urls: [`ws://127.0.0.1:${p.port}/ws`] };
  }
  const redis = await startRedis();
  if (name === 'redis2') {
    const procs = await Promise.all(['0', '1'].map((cpu) => spawnPinned(cpu, [BIN, 'serve', ...SERVE_FLAGS, '--redis', redis.url])));
    return { procs, redis: redis.child, redisDir: redis.dir, urls: procs.map((p) => `ws://127.0.0.1:${p.port}/ws`) };
  }
  const file = path.join(ROOT, 'bench/signaling/server-socketio.ts');
  const procs = await Promise.all(['0', '1'].map((cpu) => spawnPinned(cpu, ['--import', 'tsx', file], { REDIS_URL: redis.url })));
  return { procs, redis: redis.child, redisDir: redis.dir, urls: procs.map((p) => `ws://127.0.0.1:${p.port}/ws`), protocol: SOCKETIO_PROTOCOL };
}

async function stopSetup(r: Running): Promise<void> {
  for (const p of r.procs) p.child.kill('SIGTERM');
  await Promise.all(r.procs.map((p) => new Promise((res) => (p.child.exitCode !== null ? res(null) : p.child.once('exit', res)))));
  r.redis?.kill('SIGTERM');
  if (r.redis) await new Promise((res) => r.redis!.once('exit', res));
  if (r.redisDir) rmSync(r.redisDir, { recursive: true, force: true });
  await sleep(500);
}

/** Even rooms: both peers on one instance (alternating); odd rooms: split across the two. */
const assignTwo = (i: number): number => {
  const room = i >> 1;
  return room % 2 === 0 ? (room >> 1) % 2 : i & 1;
};
const groupTwo = (i: number): string => ((i >> 1) % 2 === 0 ? 'same' : 'cross');

/** Servers' + redis-server's CPU time per delivered message (µs): robust to other work on the machine (only our processes count). */
const cpuPerMsg = (r: Round): number =>
  median(r.steps.filter((s) => s.offeredRate >= 5000 && !saturatedStep(s)).map((s) => ((s.serverCpu + s.redisCpu) / 100) * 1e6 / s.deliveredRate));
const saturatedStep = (s: Step): boolean => s.deliveredRate < 0.9 * s.sentRate || s.latencyMs.p50 > 100 || s.lost > 0.05 * s.sent;
const meetsBound = (s: Step): boolean => s.latencyMs.p50 < 1 && s.latencyMs.p99 < 10 && s.lost === 0 && s.deliveredRate >= 0.95 * s.sentRate;

async function measure(name: SetupName, round: number): Promise<Round> {
  // The generator: core 0 against one instance on core 1; both cores when the instances take one each.
  spawnSync('taskset', ['-a', '-cp', name === 'one' ? '0' : '0,1', String(process.pid)], { stdio: 'ignore' });
  const run = await startSetup(name);
  const two = run.urls.length === 2;
  const session = await LoadSession.connect({
    url: run.urls[0]!,
    urls: run.urls.slice(1),
    assign: two ? assignTwo : undefined,
    group: two ? groupTwo : undefined,
    clients: CLIENTS,
    rate: 1,
    durationMs: 1000,
    protocol: run.protocol,
    roomPrefix: `b${round}`,
    connectTimeoutMs: 30_000,
  });
  const joined = session.joined.length;
  process.stderr.write(`${name} round ${round + 1}: ${joined}/${CLIENTS} joined in ${session.joinAllS.toFixed(2)} s\n`);
  const pids = run.procs.map((p) => p.child.pid!);
  const steps: Step[] = [];
  let bad = 0;
  try {
    for (const rate of STEPS) {
      const t0 = pids.map(cpuTicks);
      const r0 = run.redis ? cpuTicks(run.redis.pid!) : 0;
      const g0 = process.cpuUsage();
      const l0 = sampleCpu();
      const w0 = performance.now();
      const st = await session.step({ rate, durationMs: STEP_MS, warmupMs: WARM_MS, drainMs: 2000 });
      const secs = (performance.now() - w0) / 1000;
      const load = loadBetween(l0, sampleCpu());
      const g = process.cpuUsage(g0);
      const serverCpu = (pids.map(cpuTicks).reduce((a, b, i) => a + b - t0[i]!, 0) / CLK_TCK / secs) * 100;
      const redisCpu = run.redis ? ((cpuTicks(run.redis.pid!) - r0) / CLK_TCK / secs) * 100 : 0;
      const step: Step = { ...st, serverCpu, redisCpu, genCpu: ((g.user + g.system) / 1e6 / secs) * 100, otherCores: load.otherCores };
      steps.push(step);
      const by = st.latencyByGroup;
      process.stderr.write(
        `  ${name} ${rate}/s: sent ${fmt(st.sentRate)}/s delivered ${fmt(st.deliveredRate)}/s p50 ${fmt(st.latencyMs.p50, 2)} p99 ${fmt(st.latencyMs.p99, 2)} ms` +
          (by ? ` (same p99 ${fmt(by.same?.p99, 2)}, cross p99 ${fmt(by.cross?.p99, 2)})` : '') +
          ` lost ${st.lost} errors ${JSON.stringify(st.errors)} server ${fmt(serverCpu)}% redis ${fmt(redisCpu)}% gen ${fmt(step.genCpu)}% other ${fmt(load.otherCores, 2)} cores\n`,
      );
      bad = saturatedStep(step) ? bad + 1 : 0;
      if (bad >= 2) break;
      await sleep(300);
    }
  } finally {
    session.close();
  }
  const peak = pids.map(peakRssMB).reduce((a, b) => a + b, 0);
  await stopSetup(run);
  return {
    setup: name,
    round,
    joined,
    joinAllS: session.joinAllS,
    steps,
    saturated: Math.max(...steps.map((s) => s.deliveredRate)),
    withinBound: highestWithinBound(steps, (s) => s.offeredRate, meetsBound),
    peakRssMB: peak,
  };
}

/** Sum of a counter family in Prometheus text, e.g. rtc_signaling_messages_dropped_total (all labels). */
function promSum(text: string, family: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === family) out[m[2] ?? ''] = Number(m[3]);
  }
  return out;
}

interface Probe {
  rate: number;
  step: StepResult;
  droppedBefore: Record<string, number>;
  droppedAfter: Record<string, number>;
  relayedDelta: number;
  errorsDelta: Record<string, number>;
}

/** The one-instance setup past saturation, drained 20 s: did the server drop what the 2 s drain counted as lost? */
async function overloadProbe(rate: number): Promise<Probe> {
  spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const run = await startSetup('one');
  const metrics = run.procs[0]!.metrics!;
  const session = await LoadSession.connect({ url: run.urls[0]!, clients: CLIENTS, rate: 1, durationMs: 1000, roomPrefix: 'probe', connectTimeoutMs: 30_000 });
  try {
    const before = await (await fetch(metrics)).text();
    const step = await session.step({ rate, durationMs: 3000, warmupMs: 0, drainMs: 20_000 });
    const after = await (await fetch(metrics)).text();
    const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => (v as number) !== 0));
    return {
      rate,
      step,
      droppedBefore: promSum(before, 'rtc_signaling_messages_dropped_total'),
      droppedAfter: diff(promSum(before, 'rtc_signaling_messages_dropped_total'), promSum(after, 'rtc_signaling_messages_dropped_total')),
      relayedDelta: (promSum(after, 'rtc_signaling_messages_relayed_total')[''] ?? 0) - (promSum(before, 'rtc_signaling_messages_relayed_total')[''] ?? 0),
      errorsDelta: diff(promSum(before, 'rtc_signaling_errors_sent_total'), promSum(after, 'rtc_signaling_errors_sent_total')),
    };
  } finally {
    session.close();
    await stopSetup(run);
  }
}

function render(rounds: Round[], probe: Probe | undefined, loadText: string): string {
  const by = (n: SetupName): Round[] => rounds.filter((r) => r.setup === n);
  const med = (n: SetupName): Round | undefined => (by(n).length ? medianRound(by(n), (r) => r.saturated) : undefined);
  const m = { one: med('one'), redis2: med('redis2'), socketio2: med('socketio2') };
  const lines: string[] = [];
  lines.push('### Signaling server: one instance, two instances on Redis, socket.io on Redis', '');
  lines.push(machineHeader(machineInfo({ packages: ['ws', 'ioredis', 'socket.io', '@socket.io/redis-adapter', 'prom-client'], tools: { 'redis-server': ['redis-server', '--version'] } })));
  lines.push('', `Command: \`${commandLine()}\` · ${CLIENTS} clients in ${CLIENTS / 2} rooms of two, ~200-byte relays, ${ROUNDS} round(s), ${STEP_MS / 1000} s per step after ${WARM_MS} ms warm-up, 2 s drain`, '');
  lines.push(
    'Setups: **one** = one in-memory `rtc-cli serve` on core 1, generator on core 0; **redis2** = two `rtc-cli serve --redis` (taskset core 0 and core 1), one redis-server, generator on both cores; ' +
      '**socketio2** = the seed socket.io room server ×2 with `@socket.io/redis-adapter`, same placement. In the two-instance setups half the rooms have both peers on one instance ("same"), half are split ("cross"). ' +
      'Load generator: `rtc-cli load`\'s library (src/load) for every setup (socket.io spoken by bench/signaling/socketio-protocol.ts). 127.0.0.1 only.',
    '',
  );
  const cell = (n: SetupName, f: (r: Round) => number, d = 0): string => {
    const mr = m[n];
    if (!mr) return 'n/a';
    const all = by(n).map(f);
    return `${fmt(f(mr), d)}${all.length > 1 ? ` (${all.map((x) => fmt(x, d)).join(' / ')})` : ''}`;
  };
  lines.push(
    mdTable(
      ['median round (every round)', ...SETUPS.map((s) => s.label)],
      [
        ['clients joined', ...SETUPS.map((s) => cell(s.name, (r) => r.joined))],
        ['connect + join all (s)', ...SETUPS.map((s) => cell(s.name, (r) => r.joinAllS, 2))],
        ['saturated msgs/s (highest delivery rate)', ...SETUPS.map((s) => cell(s.name, (r) => r.saturated))],
        ['msgs/s within p50 < 1 ms, p99 < 10 ms, 0 lost', ...SETUPS.map((s) => cell(s.name, (r) => r.withinBound?.deliveredRate ?? 0))],
        ['CPU µs per delivered message (servers + redis), median of the steps ≥ 5,000/s that kept up', ...SETUPS.map((s) => cell(s.name, cpuPerMsg, 1))],
        ['server peak RSS, all instances (MB)', ...SETUPS.map((s) => cell(s.name, (r) => r.peakRssMB))],
      ],
      ['l', 'r', 'r', 'r'],
    ),
  );
  lines.push('');
  // Targets, computed from the median rounds.
  const ratio = (a?: number, b?: number): number => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);
  const twoVsOne = ratio(m.redis2?.saturated, m.one?.saturated);
  const oursVsSio = ratio(m.redis2?.saturated, m.socketio2?.saturated);
  const half = m.redis2 ? m.redis2.steps.filter((s) => s.offeredRate <= m.redis2!.saturated / 2 && !saturatedStep(s)).at(-1) : undefined;
  const crossSame = half ? ratio(half.latencyByGroup?.cross?.p99, half.latencyByGroup?.same?.p99) : NaN;
  const lostBelow = (r?: Round): number => (r ? r.steps.filter((s) => !saturatedStep(s) && s.deliveredRate < 0.9 * r.saturated).reduce((a, s) => a + s.lost, 0) : NaN);
  const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
  lines.push(
    mdTable(
      ['target (issue 11)', 'measured (median rounds)', 'verdict'],
      [
        ['2 instances ≥ 1.5× one instance, saturated msgs/s', `${fmt(twoVsOne, 2)}×`, verdict(twoVsOne >= 1.5)],
        [
          'cross-instance p99 ≤ 2× same-instance p99 at half saturation',
          half ? `${fmt(crossSame, 2)}× at ${fmt(half.offeredRate)} msgs/s (cross ${fmt(half.latencyByGroup?.cross?.p99, 2)} ms, same ${fmt(half.latencyByGroup?.same?.p99, 2)} ms)` : 'n/a',
          verdict(crossSame <= 2),
        ],
        ['0 messages lost below saturation', SETUPS.map((s) => `${s.name}: ${fmt(lostBelow(m[s.name]))}`).join(', '), verdict(SETUPS.every((s) => !m[s.name] || lostBelow(m[s.name]) === 0))],
        ['rtc-cli ≥ 1.5× socket.io + Redis (2 instances each), saturated msgs/s', `${fmt(oursVsSio, 2)}×`, verdict(oursVsSio >= 1.5)],
      ],
    ),
  );
  lines.push('', loadText, '');
  if (probe) {
    const s = probe.step;
    const serverDrops = Object.entries(probe.droppedAfter).map(([k, v]) => `${k || 'all'} ${v}`).join(', ') || 'none';
    lines.push(
      `**Past saturation** (one instance, ${fmt(probe.rate)} msgs/s offered for 3 s, drained 20 s): sent ${fmt(s.sent)}, delivered ${fmt(s.delivered)} ` +
        `(${fmt(s.arrivedAfter2s)} of them more than 2 s after the last send), lost ${fmt(s.lost)}; ${fmt(s.queuedAtSenders / 1024)} KiB were still waiting in the senders' sockets when sending stopped (TCP backpressure from the server); latency p50 ${fmt(s.latencyMs.p50, 1)} ms, p99 ${fmt(s.latencyMs.p99, 1)} ms, max ${fmt(s.latencyMs.max, 1)} ms. ` +
        `The server's /metrics over the probe: relayed +${fmt(probe.relayedDelta)}, dropped ${serverDrops}, errors sent ${JSON.stringify(probe.errorsDelta)}; the generator saw errors ${JSON.stringify(s.errors)}. ` +
        (s.arrivedAfter2s > 0
          ? `So messages a 2 s drain counts as lost were late (queued in socket buffers and the server), not dropped.`
          : s.lost === 0
            ? `Nothing was lost even without the longer drain at this rate.`
            : `Messages were lost: see the drop reasons above.`),
      '',
    );
  }
  lines.push('Every step of every round (offered → sent → delivered per second; latency send → receive; CPU in % of one core, servers summed):', '');
  lines.push(
    mdTable(
      ['setup', 'round', 'offered/s', 'sent/s', 'delivered/s', 'p50 ms', 'p99 ms', 'p99 same / cross', 'lost', 'errors', 'servers CPU', 'redis CPU', 'generator CPU', 'other cores'],
      rounds.flatMap((r) =>
        r.steps.map((s) => [
          r.setup,
          r.round + 1,
          fmt(s.offeredRate),
          fmt(s.sentRate),
          fmt(s.deliveredRate),
          fmt(s.latencyMs.p50, 2),
          fmt(s.latencyMs.p99, 2),
          s.latencyByGroup ? `${fmt(s.latencyByGroup.same?.p99, 2)} / ${fmt(s.latencyByGroup.cross?.p99, 2)}` : '',
          s.lost,
          Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', '),
          `${fmt(s.serverCpu)}%`,
          `${fmt(s.redisCpu)}%`,
          `${fmt(s.genCpu)}%`,
          fmt(s.otherCores, 2),
        ]),
      ),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist/cli.js'))) {
    process.stderr.write('run `npm run build` first (the benchmark starts the real bin)\n');
    process.exit(2);
  }
  if (toolVersion('redis-server', ['--version']) === 'unknown') {
    process.stderr.write('redis-server is missing: bash scripts/install-test-deps.sh\n');
    process.exit(2);
  }
  spawnSync('renice', ['-n', '-10', '-p', String(process.pid)], { stdio: 'ignore' });
  const monitor = startLoadMonitor();
  const rounds: Round[] = [];
  const setups = SETUPS.filter((s) => !ONLY || ONLY.split(',').includes(s.name));
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 ? [...setups].reverse() : setups) rounds.push(await measure(s.name, round));
  }
  const one = rounds.filter((r) => r.setup === 'one');
  const probe = one.length ? await overloadProbe(Math.round((median(one.map((r) => r.saturated)) * 1.3) / 1000) * 1000) : undefined;
  const text = render(rounds, probe, formatLoad(monitor.stop()));
  process.stdout.write(text + '\n');
  if (WRITE) {
    const notes = readFileSync(path.join(ROOT, 'bench/signaling/NOTES.md'), 'utf8').trim();
    writeResultsSection('<!-- bench:signaling -->', `\n${text}\n\n${notes}\n`);
    process.stderr.write('wrote bench/RESULTS.md (signaling section)\n');
  }
}

await main();
process.exit(0);
