/**
 * bench/record: CPU per recorded 640x480@30 VP8 stream, and how many concurrent recordings one core sustains without
 * losing frames. Writes the `<!-- bench:record -->` section of bench/RESULTS.md.
 *
 *   npx tsx bench/record/run.ts [--levels 1,4,8,12,16] [--seconds 8] [--rounds 3] [--no-write]
 *   npx tsx bench/record/run.ts --levels 1,2 --seconds 3 --rounds 1 --no-write     # a quick check of the script
 *
 * Feed: `publish` sessions (src/rtc/publish.ts) sending a 640x480@30 VP8 test pattern (~1 Mbit/s, made with ffmpeg
 * into bench/out/; the 250 kbit/s fixture if ffmpeg is missing), all in one process pinned to core 0. Under test: N
 * `record` sessions (src/rtc/record.ts, video only, WebM to bench/out/) in one process pinned to core 1, so "one core"
 * is one JS thread. Reference in the same run: N "sink" sessions on the same werift receive path that only count
 * frames (no depacketizing, jitter buffer or muxing). Traffic stays on 127.0.0.1.
 *
 * Each level runs --rounds times (recorder and reference interleaved); reports follow bench/lib's rules: the median
 * round per level, "sustains" = the highest level up to which every level was sustained, prose computed from this run,
 * other load measured per round and for the whole run.
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSignalingServer } from '../../src/signaling/server.js';
import {
  ROOT,
  commandLine,
  formatLoad,
  highestWithinBound,
  loadBetween,
  machineHeader,
  machineInfo,
  mdTable,
  medianRound,
  sampleCpu,
  startLoadMonitor,
  writeResultsSection,
} from '../lib/index.js';

const OUT = join(ROOT, 'bench/out/record');
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const levels = flag('--levels', '1,4,8,12,16').split(',').map(Number);
const seconds = Number(flag('--seconds', '8'));
const rounds = Number(flag('--rounds', '3'));
const write = !args.includes('--no-write');
const modes = flag('--modes', 'sink,recorder').split(',');
const FPS = 30;
/** A level "sustains" the load when every stream kept at least this share of the source frame rate. */
const OK_SHARE = 0.97;

interface WorkerOut {
  role: string;
  n: number;
  windowMs?: number;
  cpuPct?: number;
  minFps?: number;
  meanFps?: number;
  rssMb?: number;
  error?: string;
  failed?: string[];
}

function haveTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return cpus().length > 1;
  } catch {
    return false;
  }
}
const PIN = haveTaskset();

function runWorker(core: number, argv: string[]): Promise<WorkerOut> {
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const cmd = PIN ? 'taskset' : tsx;
  const full = PIN ? ['-c', String(core), tsx, join(ROOT, 'bench/record/worker.ts'), ...argv] : [join(ROOT, 'bench/record/worker.ts'), ...argv];
  return new Promise((resolve) => {
    // Its own process group: taskset execs tsx, which runs node as a child; killing only `child` left the worker
    // (and the pipes 'close' waits for) alive, and one hung worker stalled a run for 20 minutes.
    const child = spawn(cmd, full, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, (seconds + 90) * 1000);
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      resolve(line ? (JSON.parse(line) as WorkerOut) : { role: argv[0]!, n: Number(argv[1]), error: `no output; ${err.slice(-300)}` });
    });
  });
}

function makeSource(): { path: string; label: string } {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, 'src-640x480-30fps-1mbps.ivf');
  try {
    if (!existsSync(path)) {
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-t', '6', '-c:v', 'libvpx', '-b:v', '1M', '-g', '60', '-auto-alt-ref', '0', '-deadline', 'realtime', path]);
    }
    return { path, label: '640x480@30 VP8 testsrc2, ~1 Mbit/s (ffmpeg libvpx, keyframe every 2 s)' };
  } catch {
    return { path: join(ROOT, 'fixtures/media/testsrc-640x480-30fps.ivf'), label: '640x480@30 VP8 testsrc fixture, ~250 kbit/s (ffmpeg missing)' };
  }
}

interface Level {
  mode: string;
  n: number;
  /** One entry per round, in the order run. */
  rounds: Array<{ rec: WorkerOut; pub: WorkerOut; otherCores: number }>;
}

const sustained = (w: WorkerOut): boolean => w.minFps !== undefined && w.minFps >= OK_SHARE * FPS;
/** The level's median round, ranked by the receiver's CPU (a failed round ranks last). */
const medianOf = (l: Level): Level['rounds'][number] => medianRound(l.rounds, (r) => r.rec.cpuPct ?? NaN);
/** A level is sustained when its median round by minimum frame rate kept every stream at ≥ OK_SHARE of 30 fps. */
const levelSustained = (l: Level): boolean => sustained(medianRound(l.rounds, (r) => -(r.rec.minFps ?? -Infinity)).rec);

async function measure(src: { path: string }): Promise<Level[]> {
  const srv = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null, roomSize: 2, rateLimit: { perSecond: 1000, burst: 5000 } });
  const results: Level[] = [];
  const stopped = new Set<string>();
  try {
    for (const n of levels) {
      for (let round = 1; round <= rounds; round++) {
        // Modes interleaved within a round: the reference and the recorder see the same machine at the same level.
        for (const mode of modes) {
          if (stopped.has(mode)) continue;
          let level = results.find((l) => l.mode === mode && l.n === n);
          if (!level) results.push((level = { mode, n, rounds: [] }));
          const before = sampleCpu();
          const pub = runWorker(0, ['publisher', String(n), srv.signalUrl, src.path, String(seconds + 45)]);
          const rec = await runWorker(1, [mode, String(n), srv.signalUrl, OUT, String(seconds)]);
          const p = await pub;
          const otherCores = loadBetween(before, sampleCpu()).otherCores;
          level.rounds.push({ rec, pub: p, otherCores });
          process.stderr.write(
            `${mode} n=${n} round ${round}: cpu ${rec.cpuPct?.toFixed(1) ?? '?'}% minFps ${rec.minFps?.toFixed(1) ?? '?'} meanFps ${rec.meanFps?.toFixed(1) ?? '?'} publisher cpu ${p.cpuPct?.toFixed(0) ?? '?'}% other load ${otherCores.toFixed(2)} cores ${rec.error ?? ''} ${rec.failed?.join(' | ') ?? ''}${sustained(rec) ? '' : ' (frames lost)'}\n`,
          );
        }
      }
      // "Within the bound" is a prefix: a mode whose level was not sustained stops climbing.
      for (const mode of modes) {
        const level = results.find((l) => l.mode === mode && l.n === n);
        if (level && !levelSustained(level)) stopped.add(mode);
      }
      if (modes.every((m) => stopped.has(m))) break;
    }
  } finally {
    await srv.close();
  }
  return results;
}

function summarize(results: Level[], mode: string): { top?: Level; maxTried: number; cpuPerStream?: number } {
  const mine = results.filter((l) => l.mode === mode);
  const top = highestWithinBound(mine, (l) => l.n, levelSustained);
  const cpu = top ? medianOf(top).rec.cpuPct : undefined;
  return { top, maxTried: mine.length ? Math.max(...mine.map((l) => l.n)) : 0, cpuPerStream: top && cpu !== undefined ? cpu / top.n : undefined };
}

/** CPU per added stream between the smallest and the largest sustained level (median rounds): the fixed cost of one process aside. */
function marginal(results: Level[], top: Level | undefined): string {
  const ok = results.filter((l) => l.mode === 'recorder' && top && l.n <= top.n && medianOf(l).rec.cpuPct !== undefined);
  if (!top || ok.length < 2) return '';
  const lo = ok.reduce((a, b) => (b.n < a.n ? b : a));
  const [cl, ch] = [medianOf(lo).rec, medianOf(top).rec];
  const m = (ch.cpuPct! - cl.cpuPct!) / (top.n - lo.n);
  const ceiling = top.n === Math.max(...levels) ? `${top.n} streams were the largest level tried, not a ceiling: ` : '';
  return (
    `Marginal cost of one more recording: ${m.toFixed(2)} % of a core (median rounds at ${lo.n} and ${top.n} streams); one recording ` +
    `process uses ${cl.cpuPct!.toFixed(1)} % with ${lo.n} stream(s) (timers, RTCP, REMB). ${ceiling}at ${ch.cpuPct!.toFixed(0)} % of the core ` +
    `the median round kept every stream at ≥ ${ch.minFps!.toFixed(1)} fps.`
  );
}

async function main(): Promise<void> {
  const monitor = startLoadMonitor();
  const src = makeSource();
  const results = await measure(src);
  const recS = summarize(results, 'recorder');
  const sinkS = summarize(results, 'sink');
  const streamsPerCore = (cpu?: number): string => (cpu ? (100 / cpu).toFixed(1) : 'n/a');
  const roundsCpu = (l: Level): string => l.rounds.map((r) => r.rec.cpuPct?.toFixed(1) ?? 'failed').join(' / ');
  const lines = [
    '',
    '### record: CPU per recorded stream and concurrent recordings per core',
    '',
    `${machineHeader(machineInfo({ packages: ['werift'] }))} · ${seconds} s window per level${PIN ? ' · publishers pinned to core 0, receivers to core 1 (taskset)' : ''}`,
    '',
    `Command: \`${commandLine()}\``,
    '',
    `Source: ${src.label}, sent by \`publish\` sessions over 127.0.0.1. Each level runs ${rounds} round${rounds === 1 ? '' : 's'} (recorder and ` +
      `reference interleaved); figures are the level's median round by receiver CPU. A level is "sustained" when its median round by ` +
      `minimum frame rate kept every stream at ≥ ${Math.round(OK_SHARE * 100)} % of ${FPS} fps; "sustains" below is the highest level up to which every level was sustained.`,
    '',
    mdTable(
      ['', '`record` (depacketize + jitter buffer + WebM mux + write)', 'reference: werift receive only (count frames)', 'ratio'],
      [
        [
          'CPU per 640x480@30 stream (% of one core, at the largest sustained level)',
          recS.cpuPerStream?.toFixed(2) ?? 'n/a',
          sinkS.cpuPerStream?.toFixed(2) ?? 'n/a',
          recS.cpuPerStream && sinkS.cpuPerStream ? `${(recS.cpuPerStream / sinkS.cpuPerStream).toFixed(2)}×` : '',
        ],
        [`streams one core sustains, measured (largest level tried: ${recS.maxTried} / ${sinkS.maxTried})`, String(recS.top?.n ?? 0), String(sinkS.top?.n ?? 0), ''],
        ['streams per core extrapolated from CPU per stream (target ≥ 10)', streamsPerCore(recS.cpuPerStream), streamsPerCore(sinkS.cpuPerStream), ''],
      ],
    ),
    '',
    marginal(results, recS.top),
    '',
    'Every level (median round; "CPU % each round" lists every round in the order run; "other load": CPU, in cores, of processes outside this benchmark during that median round):',
    '',
    mdTable(
      ['mode', 'streams', 'receiver CPU %', 'CPU % each round', 'CPU % per stream', 'min fps', 'mean fps', 'receiver RSS MB', 'publisher CPU %', 'other load'],
      results.map((l) => {
        const r = medianOf(l);
        return [
          l.mode,
          String(l.n),
          r.rec.cpuPct?.toFixed(1) ?? r.rec.error ?? '?',
          roundsCpu(l),
          r.rec.cpuPct !== undefined ? (r.rec.cpuPct / l.n).toFixed(2) : '',
          r.rec.minFps?.toFixed(1) ?? '',
          r.rec.meanFps?.toFixed(1) ?? '',
          r.rec.rssMb?.toFixed(0) ?? '',
          r.pub.cpuPct?.toFixed(0) ?? r.pub.error?.slice(0, 60) ?? '',
          r.otherCores.toFixed(2),
        ];
      }),
      ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    formatLoad(monitor.stop()),
    '',
  ];
  const section = lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
  process.stdout.write(section + '\n');
  if (write) writeResultsSection('<!-- bench:record -->', section);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/record failed: ${String(e)}\n`);
  process.exit(1);
});
