/**
 * bench/datachannel: data-channel throughput of five variants, interleaved, median of N runs, on loopback and on
 * paths with latency and loss:
 *
 *   send-file        `rtc-cli send-file --engine werift` → `rtc-cli recv-file --engine werift` (patched werift; file
 *                    read from disk and SHA-256 hashed, written to .part, hashed, fsynced, renamed), through a
 *                    signaling server;
 *   send-file-native the same commands with `--engine native` on both sides (node-datachannel under rtc-cli);
 *   werift           raw werift as installed (patched): send-file's chunking and backpressure, bytes from memory;
 *   werift-stock     the same raw peer on an unpatched copy of werift (the patches reversed into bench/out/);
 *   node-datachannel raw libdatachannel (C++), the native reference.
 *
 *   sudo npx tsx bench/datachannel/run.ts [--runs 3] [--mib 64] [--conditions loopback,0/0,20/0,50/0,0/1,20/1,50/1]
 *     [--variants send-file,send-file-native,werift,werift-stock,node-datachannel] [--cap 30] [--no-write] [--section NAME]
 *
 * Conditions: `loopback` is 127.0.0.1 in this namespace; `R/L` is R ms round-trip time and L % loss (each direction)
 * between two network namespaces through bench/netem (needs root and gcc). Sender on CPU 0, receiver on CPU 1.
 * A run whose bytes do not move for 10 s is "stalled" (a failure, listed); a run still going after --cap seconds
 * is stopped and measured over what it moved ("capped": lossy paths at 50 ms need minutes for 64 MiB).
 * MB/s: receiver bytes / seconds from channel open. CPU per MB: each side's CPU over the transfer (raw peers measure
 * it themselves; for send-file, whole-process CPU minus the same processes' CPU for a 1-byte transfer, measured first
 * in each condition). Reported per variant and condition: the median run by MB/s, its CPU figures from that same run
 * (bench/lib rules), every run's MB/s, and the cores other processes used during each run (bench/lib/load.ts).
 * Writes the `<!-- bench:datachannel -->` section of bench/RESULTS.md unless --no-write (with --section NAME:
 * `<!-- bench:datachannel-NAME -->`, for a partial run that must not replace the last full one). BENCH_UNPINNED=1 lets each
 * process use both cores (bench/datachannel/lib.ts `measured`) and then prints the tables without writing them.
 * BENCH_NDC_SCTP='{"recvBufferSize":8388608,"sendBufferSize":8388608}' gives the raw node-datachannel peer other SCTP
 * settings (node-datachannel's setSctpSettings; how engine/load.ts NATIVE_SCTP_BUFFER was chosen), also printed only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSignalingServer } from '../../src/signaling/server.js';
import { commandLine, fmt, formatLoad, loadBetween, machineHeader, machineInfo, median, medianRound, ROOT, sampleCpu, startLoadMonitor, writeResultsSection } from '../lib/index.js';
import { createNetem, type Netem } from '../netem/netem.js';
import { measured, prepareStockWerift, Watch, type Outcome } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    mib: { type: 'string', default: '64' },
    conditions: { type: 'string', default: 'loopback,0/0,20/0,50/0,0/1,20/1,50/1' },
    variants: { type: 'string', default: 'send-file,send-file-native,werift,werift-stock,node-datachannel' },
    cap: { type: 'string', default: '30' },
    'no-write': { type: 'boolean', default: false },
    section: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const BYTES = Number(values.mib) * 1024 * 1024;
const CAP_MS = Number(values.cap) * 1000;
const STALL_MS = 10_000;
const DEBUG = process.env.BENCH_DEBUG === '1';
const SETUP_MS = 60_000;
const VARIANTS = values.variants!.split(',') as Variant[];
const BIN = join(ROOT, 'bin/rtc-cli.js');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const PEER = join(ROOT, 'bench/datachannel/peer.ts');

type Variant = 'send-file' | 'send-file-native' | 'werift' | 'werift-stock' | 'node-datachannel';
/** The rtc-cli variants and the engine each runs on (both sides). */
const CLI_ENGINE: Partial<Record<Variant, 'werift' | 'native'>> = { 'send-file': 'werift', 'send-file-native': 'native' };

interface Condition {
  label: string;
  netem?: { rttMs: number; lossPct: number };
}

interface Sample {
  outcome: Outcome;
  MBps: number;
  /** CPU seconds per MB moved, sender and receiver. */
  sendCpuPerMB: number;
  recvCpuPerMB: number;
  /** Cores used by processes outside this benchmark during the run. */
  otherLoad: number;
}

interface Failure {
  variant: Variant;
  condition: string;
  run: number;
  why: string;
}

/** Where the two peers run: loopback in this namespace, or the two ends of a netem path. */
interface Place {
  prefix(side: 'a' | 'b'): string[];
  address(side: 'a' | 'b'): string;
  signalUrl: string;
}

const conditions: Condition[] = values.conditions!.split(',').map((c) => {
  if (c === 'loopback') return { label: 'loopback' };
  const [rtt, loss] = c.split('/').map(Number);
  if (!Number.isFinite(rtt) || !Number.isFinite(loss)) throw new Error(`--conditions: "${c}" is not loopback or RTT/LOSS (e.g. 50/1)`);
  return { label: `${rtt} ms RTT, ${loss} % loss`, netem: { rttMs: rtt!, lossPct: loss! } };
});

// ---------------------------------------------------------------------------------------------------------------
// One transfer

interface SideProgress {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
}

/** Raw peers (werift, werift-stock, node-datachannel) through bench/datachannel/peer.ts. */
async function rawOnce(variant: Variant, place: Place, stockDir: string): Promise<Omit<Sample, 'otherLoad'>> {
  const impl = variant === 'node-datachannel' ? 'ndc' : 'werift';
  const args = (role: string, side: 'a' | 'b'): string[] => [
    process.execPath, TSX, PEER, '--impl', impl, '--role', role, '--bytes', String(BYTES), '--address', place.address(side),
    ...(variant === 'werift-stock' ? ['--werift', stockDir] : []),
  ];
  const last: Record<'send' | 'recv', SideProgress | undefined> = { send: undefined, recv: undefined };
  const final: Record<'send' | 'recv', SideProgress | undefined> = { send: undefined, recv: undefined };
  const procs: ReturnType<typeof measured>[] = [];
  const watch = new Watch({ stallMs: STALL_MS, setupMs: SETUP_MS, capMs: CAP_MS }, () => procs.forEach((p) => p.interrupt()));
  const onLine = (role: 'send' | 'recv', peer: () => ReturnType<typeof measured>) => (l: string): void => {
    if (DEBUG) process.stderr.write(`[${variant} ${role}] ${l.slice(0, 160)}\n`);
    if (l.startsWith('{"sig"')) peer().write(l + '\n');
    else if (l.startsWith('{"progress"')) {
      last[role] = (JSON.parse(l) as { progress: SideProgress }).progress;
      if (role === 'recv') watch.progress(last.recv!.bytes);
    } else if (l.startsWith('{"result"')) final[role] = (JSON.parse(l) as { result: SideProgress }).result;
  };
  const recv = measured(1, args('recv', 'b'), { prefix: place.prefix('b'), onLine: onLine('recv', () => send) });
  const send = measured(0, args('send', 'a'), { prefix: place.prefix('a'), onLine: onLine('send', () => recv) });
  procs.push(send, recv);
  const [s, r] = await Promise.all([send.done, recv.done]);
  watch.close();
  if (watch.outcome === 'stalled') throw new Error(`stalled at ${last.recv?.bytes ?? 0} bytes`);
  const rs = watch.outcome === 'capped' ? last.recv : final.recv;
  const ss = watch.outcome === 'capped' ? last.send : final.send;
  if (!rs || !ss) throw new Error(`no result (exit ${s.code}/${r.code}): ${s.stderr.slice(-300)} ${r.stderr.slice(-300)}`);
  const mb = rs.bytes / 1e6;
  return { outcome: watch.outcome, MBps: mb / rs.seconds, sendCpuPerMB: ss.cpuSeconds / mb, recvCpuPerMB: rs.cpuSeconds / mb };
}

interface CliProgress {
  event: 'progress';
  bytes: number;
  rate: number;
}
interface CliResult {
  bytes: number;
  seconds: number;
  werift?: { patched: boolean };
  engine?: string;
}

/** send-file → recv-file; returns whole-process CPU so the caller can subtract start-up. */
async function sendFileOnce(engine: 'werift' | 'native', place: Place, src: string, dir: string, tag: string): Promise<Omit<Sample, 'otherLoad'> & { sendCpu: number; recvCpu: number; mb: number }> {
  const out = join(dir, `out-${tag}`);
  mkdirSync(out);
  const room = `bench-${process.pid}-${tag}`;
  const flags = (side: 'a' | 'b'): string[] => ['--signal', place.signalUrl, '--room', room, '--ice-address', place.address(side), '--json', '--timeout', '60', '--engine', engine];
  let lastProgress: CliProgress | undefined;
  let result: CliResult | undefined;
  const procs: ReturnType<typeof measured>[] = [];
  // interrupt(): rtc-cli exits on SIGINT and /usr/bin/time still reports its CPU.
  const watch = new Watch({ stallMs: STALL_MS, setupMs: SETUP_MS, capMs: CAP_MS }, () => procs.forEach((p) => p.interrupt()));
  const recv = measured(1, [process.execPath, BIN, 'recv-file', ...flags('b'), '--out', out], {
    prefix: place.prefix('b'),
    onLine: (l) => {
      if (!l.startsWith('{')) return;
      const o = JSON.parse(l) as Partial<CliProgress> & Partial<CliResult> & { files?: unknown };
      if (o.event === 'progress') {
        lastProgress = o as CliProgress;
        watch.progress(lastProgress.bytes);
      } else if (o.files) result = o as CliResult;
    },
  });
  const send = measured(0, [process.execPath, BIN, 'send-file', ...flags('a'), src], { prefix: place.prefix('a') });
  procs.push(send, recv);
  const [s, r] = await Promise.all([send.done, recv.done]);
  watch.close();
  rmSync(out, { recursive: true, force: true });
  if (watch.outcome === 'stalled') throw new Error(`stalled at ${lastProgress?.bytes ?? 0} bytes`);
  if (watch.outcome === 'complete' && (s.code !== 0 || r.code !== 0 || !result)) {
    // Each side's own error line (human stderr: `error: <message> [<code>]`), not a tail that may cut it.
    const why = (text: string): string => text.split('\n').filter((l) => l.startsWith('error:')).pop() ?? text.trim().slice(-200);
    throw new Error(`send-file exit ${s.code} (${why(s.stderr)}), recv-file exit ${r.code} (${why(r.stderr)})`);
  }
  if (engine === 'werift' && result?.werift && !result.werift.patched) throw new Error('send-file ran on an unpatched werift');
  if (result && result.engine !== engine) throw new Error(`send-file ran on ${result.engine}, not ${engine}`);
  const mb = (result ? result.bytes : lastProgress?.bytes ?? 0) / 1e6;
  const MBps = result ? mb / result.seconds : (lastProgress?.rate ?? 0) / 1e6;
  return { outcome: watch.outcome, MBps, sendCpu: s.cpuSeconds, recvCpu: r.cpuSeconds, mb, sendCpuPerMB: NaN, recvCpuPerMB: NaN };
}

// ---------------------------------------------------------------------------------------------------------------
// Places

async function loopbackPlace(): Promise<{ place: Place; close: () => Promise<void> }> {
  const server = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null });
  return {
    place: { prefix: () => [], address: () => '127.0.0.1', signalUrl: server.signalUrl },
    close: () => server.close(),
  };
}

/** The netem path, with `rtc-cli serve` inside namespace A for send-file's signaling. */
async function netemPlace(net: Netem): Promise<{ place: Place; close: () => Promise<void> }> {
  let serve: ReturnType<typeof measured> | undefined;
  const signalUrl = await new Promise<string>((resolve, reject) => {
    setTimeout(() => reject(new Error('rtc-cli serve did not start in the netem namespace')), 15_000).unref();
    serve = measured(0, [process.execPath, BIN, 'serve', '--host', net.addrA, '--port', '0', '--json'], {
      prefix: net.exec('a', []),
      onLine: (l) => {
        const m = /"signal":"([^"]+)"/.exec(l);
        if (m) resolve(m[1]!);
      },
    });
  });
  return {
    place: { prefix: (side) => net.exec(side, []), address: (side) => (side === 'a' ? net.addrA : net.addrB), signalUrl },
    close: async () => {
      serve!.kill('SIGTERM');
      await serve!.done;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Main

function makePayload(dir: string, bytes: number, name: string): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const h = createHash('sha256');
  for (let left = bytes; left > 0; left -= 1 << 20) {
    const b = randomBytes(Math.min(left, 1 << 20));
    h.update(b);
    writeSync(fd, b);
  }
  closeSync(fd);
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'rtc-bench-dc-'));
const src = makePayload(dir, BYTES, 'payload.bin');
const tiny = makePayload(dir, 1, 'tiny.bin');
const stockDir = VARIANTS.includes('werift-stock') ? prepareStockWerift(ROOT, join(ROOT, 'bench/out/werift-stock')) : '';
const results = new Map<string, Map<Variant, Sample[]>>();
const failures: Failure[] = [];
const info = machineInfo({ packages: ['werift', 'node-datachannel', 'patch-package'] });
const monitor = startLoadMonitor();
/** The relay restarts for each condition (its counters with it): summed here before each restart and at the end. */
const relay = { packets: 0, cpuSeconds: 0, lost: 0, overflow: 0 };
const addRelayStats = async (n: Netem): Promise<void> => {
  const st = await n.stats();
  relay.packets += st.aToB.forwarded + st.bToA.forwarded;
  relay.cpuSeconds += st.cpuSeconds;
  relay.lost += st.aToB.lost + st.bToA.lost;
  relay.overflow += st.aToB.overflow + st.bToA.overflow;
};
let net: Netem | undefined;

try {
  for (const cond of conditions) {
    if (cond.netem) {
      if (!net) net = await createNetem(cond.netem);
      else {
        await addRelayStats(net);
        await net.setConditions(cond.netem);
      }
    }
    const { place, close } = cond.netem ? await netemPlace(net!) : await loopbackPlace();
    const byVariant = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
    results.set(cond.label, byVariant);
    try {
      // send-file's start-up CPU (process start, werift import, signaling, ICE, DTLS) in this condition.
      const startup = new Map<Variant, { send: number; recv: number }>();
      for (const v of VARIANTS) {
        const engine = CLI_ENGINE[v];
        if (!engine) continue;
        const t = await sendFileOnce(engine, place, tiny, dir, `startup-${v}`);
        startup.set(v, { send: t.sendCpu, recv: t.recvCpu });
      }
      for (let i = 0; i < RUNS; i++) {
        for (const v of VARIANTS) {
          const before = sampleCpu();
          const t0 = performance.now();
          try {
            let s: Omit<Sample, 'otherLoad'>;
            const engine = CLI_ENGINE[v];
            if (engine) {
              const r = await sendFileOnce(engine, place, src, dir, `${results.size}-${i}-${v}`);
              const base = startup.get(v)!;
              s = { ...r, sendCpuPerMB: (r.sendCpu - base.send) / r.mb, recvCpuPerMB: (r.recvCpu - base.recv) / r.mb };
            } else {
              s = await rawOnce(v, place, stockDir);
            }
            const load = loadBetween(before, sampleCpu()).otherCores;
            byVariant.get(v)!.push({ ...s, otherLoad: load });
            process.stderr.write(`${cond.label} run ${i + 1}/${RUNS} ${v}: ${s.MBps.toFixed(1)} MB/s${s.outcome === 'capped' ? ' (capped)' : ''} [${((performance.now() - t0) / 1000).toFixed(1)} s, other load ${load.toFixed(2)} cores]\n`);
          } catch (e) {
            failures.push({ variant: v, condition: cond.label, run: i + 1, why: (e as Error).message.slice(0, 200) });
            process.stderr.write(`${cond.label} run ${i + 1}/${RUNS} ${v}: FAILED ${(e as Error).message.slice(0, 300)}\n`);
          }
        }
      }
    } finally {
      await close();
    }
  }
} finally {
  if (net) {
    await addRelayStats(net);
    await net.destroy();
    process.stderr.write(`netem relay, all conditions: ${JSON.stringify(relay)}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const load = monitor.stop();
const f = (n: number, d = 1): string => fmt(n, d);
const samplesOf = (cond: string, v: Variant): Sample[] => results.get(cond)?.get(v) ?? [];
/** The median run by MB/s (bench/lib rule 1): its CPU figures come from that same run. */
const mid = (cond: string, v: Variant): Sample | undefined => (samplesOf(cond, v).length ? medianRound(samplesOf(cond, v), (s) => s.MBps) : undefined);
const mbps = (cond: string, v: Variant): number => mid(cond, v)?.MBps ?? NaN;
const failed = (cond: string, v: Variant): Failure[] => failures.filter((x) => x.condition === cond && x.variant === v);

function conditionTable(cond: string): string {
  const rows = VARIANTS.map((v) => {
    const m = mid(cond, v);
    const perRun = samplesOf(cond, v).map((s) => `${f(s.MBps)}${s.outcome === 'capped' ? '*' : ''}`).join(', ');
    const stalls = failed(cond, v).length ? ` (+${failed(cond, v).length} failed)` : '';
    return `| ${v} | ${f(m?.MBps ?? NaN)} | ${f((m?.sendCpuPerMB ?? NaN) * 1000, 0)} / ${f((m?.recvCpuPerMB ?? NaN) * 1000, 0)} | ${perRun}${stalls} | ${f(median(samplesOf(cond, v).map((s) => s.otherLoad)), 2)} |`;
  });
  return [
    `| variant | MB/s (median run) | CPU ms per MB, send / recv (that run) | MB/s per run (* = capped at ${values.cap} s) | other load, cores (median over runs) |`,
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const condLabels = [...results.keys()];
const matrix = [
  `| condition | ${VARIANTS.join(' | ')} |`,
  `|---|${VARIANTS.map(() => '---').join('|')}|`,
  ...condLabels.map((c) => `| ${c} | ${VARIANTS.map((v) => `${f(mbps(c, v))}${failed(c, v).length ? ` (${failed(c, v).length} failed)` : ''}`).join(' | ')} |`),
].join('\n');

/** The prose under the tables: every figure is computed from this run. */
function findings(): string[] {
  const out: string[] = [];
  const ratio = (c: string, a: Variant, b: Variant): number => mbps(c, a) / mbps(c, b);
  const cpu = (c: string, v: Variant, side: 'sendCpuPerMB' | 'recvCpuPerMB'): string => f((mid(c, v)?.[side] ?? NaN) * 1000, 0);
  if (results.has('loopback')) {
    const c = 'loopback';
    if (VARIANTS.includes('send-file') && VARIANTS.includes('werift-stock')) {
      const r = ratio(c, 'send-file', 'werift-stock');
      out.push(`- Loopback: send-file on patched werift moves ${f(mbps(c, 'send-file'))} MB/s, unpatched raw werift ${f(mbps(c, 'werift-stock'))} MB/s: **${f(r, 2)}×** (target ≥ 1.5×: ${r >= 1.5 ? 'met' : 'missed'}).`);
    }
    if (VARIANTS.includes('werift') && VARIANTS.includes('werift-stock')) {
      out.push(
        `- Raw werift, patched vs unpatched: ${f(ratio(c, 'werift', 'werift-stock'), 2)}× the throughput; CPU per MB ${cpu(c, 'werift', 'sendCpuPerMB')} vs ${cpu(c, 'werift-stock', 'sendCpuPerMB')} ms (sender), ${cpu(c, 'werift', 'recvCpuPerMB')} vs ${cpu(c, 'werift-stock', 'recvCpuPerMB')} ms (receiver).`,
      );
    }
    if (VARIANTS.includes('send-file-native') && VARIANTS.includes('node-datachannel')) {
      const r = ratio(c, 'send-file-native', 'node-datachannel');
      const abs = mbps(c, 'send-file-native');
      out.push(`- Loopback: \`send-file --engine native\` moves ${f(abs)} MB/s, raw node-datachannel ${f(mbps(c, 'node-datachannel'))} MB/s: **${f(r, 2)}×** (target ≥ 0.8×: ${r >= 0.8 ? 'met' : 'missed'}; ≥ 65 MB/s on a quiet machine: ${abs >= 65 ? 'met' : 'missed'} in this run), with ${cpu(c, 'send-file-native', 'sendCpuPerMB')} / ${cpu(c, 'send-file-native', 'recvCpuPerMB')} ms of CPU per MB (send / recv, including reading, writing and SHA-256 of the file).`);
    }
    if (VARIANTS.includes('werift') && VARIANTS.includes('node-datachannel')) {
      out.push(`- node-datachannel (C++) stays ahead on loopback: patched werift reaches ${f(ratio(c, 'werift', 'node-datachannel'), 2)}× of it, with ${cpu(c, 'node-datachannel', 'sendCpuPerMB')} / ${cpu(c, 'node-datachannel', 'recvCpuPerMB')} ms of CPU per MB.`);
    }
  }
  const fifty = condLabels.find((c) => c.startsWith('50 ms RTT, 0 %'));
  if (fifty && VARIANTS.includes('werift') && VARIANTS.includes('node-datachannel')) {
    const r = ratio(fifty, 'werift', 'node-datachannel');
    const sf = VARIANTS.includes('send-file') ? `, send-file ${f(ratio(fifty, 'send-file', 'node-datachannel'), 2)}×` : '';
    if (VARIANTS.includes('send-file') && VARIANTS.includes('send-file-native')) {
      const e = ratio(fifty, 'send-file', 'send-file-native');
      out.push(`- 50 ms RTT, no loss, the two engines under send-file: werift ${f(mbps(fifty, 'send-file'))} MB/s vs native ${f(mbps(fifty, 'send-file-native'))} MB/s: **${f(e, 2)}×** (target ≥ 0.5×: ${e >= 0.5 ? 'met' : 'missed'}).`);
    }
    out.push(`- 50 ms RTT, no loss: raw werift (patched) ${f(mbps(fifty, 'werift'))} MB/s vs node-datachannel ${f(mbps(fifty, 'node-datachannel'))} MB/s: **${f(r, 2)}×**${sf} (target ≥ 0.5×: ${r >= 0.5 ? 'met' : 'missed'}).`);
  }
  for (const c of condLabels.filter((l) => l.endsWith(', 1 % loss'))) {
    const cells = VARIANTS.map((v) => `${v} ${f(mbps(c, v))}`).join(', ');
    out.push(`- ${c}: ${cells} MB/s.`);
  }
  if (relay.packets > 0) {
    out.push(`- The netem relay forwarded ${fmt(relay.packets, 0)} packets in all latency runs with ${fmt(relay.cpuSeconds, 1)} s of CPU (${fmt((relay.cpuSeconds / relay.packets) * 1e6, 1)} µs each; its ceiling: \`bench:netem\`), and dropped ${fmt(relay.lost, 0)} as the configured loss, ${fmt(relay.overflow, 0)} for a full queue.`);
  }
  out.push(failures.length === 0 ? '- No run stalled or failed.' : `- ${failures.length} run(s) failed or stalled (no progress for ${STALL_MS / 1000} s): ${failures.map((x) => `${x.variant} @ ${x.condition} run ${x.run}: ${x.why}`).join('; ')}.`);
  return out;
}

/** Which kinds of path this run measured, for the section title. */
function where(): string {
  const lo = conditions.some((c) => !c.netem);
  const far = conditions.some((c) => c.netem);
  return lo && far ? 'on loopback and with latency/loss' : lo ? 'on loopback' : 'with latency/loss';
}

/**
 * The kernel's caps on UDP socket buffers, which the figures depend on: patched werift asks for 4 MiB receive buffers
 * (patch 003) and gets at most net.core.rmem_max; Linux's default cap is 208 KiB.
 */
function udpBufferLimits(): string {
  const read = (k: string): string => {
    try {
      return fmt(Number(readFileSync(`/proc/sys/net/core/${k}`, 'utf8').trim()) / 1024, 0) + ' KiB';
    } catch {
      return 'unknown';
    }
  };
  return `UDP buffer caps: net.core.rmem_max ${read('rmem_max')}, wmem_max ${read('wmem_max')} (werift asks for 4 MiB receive buffers; Linux's default cap is 208 KiB, where werift's long-path figures are lower: README §Performance).`;
}

const header = `${machineHeader(info)}. werift patched = node_modules/werift with patches/; stock = the same with the patches reversed.
Command: \`${commandLine()}\` (as root, after \`npm run build\`).
${udpBufferLimits()}
${formatLoad(load)} Compare ratios within this run, not absolute figures.`;

const perCondition = condLabels.map((c) => `#### ${c}\n\n${conditionTable(c)}`).join('\n\n');
process.stdout.write(`${header}\n\n${matrix}\n\n${findings().join('\n')}\n\n${perCondition}\n`);

// The RESULTS section says each side is pinned to one core; an unpinned run is printed only.
if (process.env.BENCH_UNPINNED === '1') process.stdout.write('BENCH_UNPINNED=1: every process could use every core; bench/RESULTS.md not written\n');
else if (process.env.BENCH_NDC_SCTP) process.stdout.write('BENCH_NDC_SCTP: the raw node-datachannel peer ran with other SCTP settings; bench/RESULTS.md not written\n');
else if (!values['no-write']) {
  // A partial run (some conditions or variants, e.g. after a change that only moves loopback figures) goes to its own
  // section, so it does not replace the last full run.
  writeResultsSection(
    values.section ? `<!-- bench:datachannel-${values.section} -->` : '<!-- bench:datachannel -->',
    `### Data channel${values.section ? ` (${values.section})` : ''}: send-file on both engines vs raw werift (patched and stock) vs node-datachannel, ${where()}

${header}

${values.mib} MiB per transfer, ${RUNS} interleaved runs per variant and condition, sender on CPU 0, receiver on CPU 1.
Loopback: 127.0.0.1. Latency/loss: two network namespaces joined by bench/netem's relay (RTT/2 each way, loss on UDP
packets in each direction). A run with no progress for ${STALL_MS / 1000} s counts as failed; a run still going after ${values.cap} s is
measured over what it moved so far (marked *). MB/s is the receiver's bytes over the time since the data channel
opened; the tables give the median run by MB/s and that run's CPU per MB, each side's CPU over the transfer
(send-file: its processes' CPU minus that of a 1-byte transfer in the same condition, i.e. without start-up, signaling
and handshakes).

MB/s of the median run:

${matrix}

${findings().join('\n')}

${perCondition}
`,
  );
  process.stderr.write('bench/RESULTS.md updated\n');
}
