/**
 * bench/record: CPU per recorded 640x480@30 VP8 stream, and how many concurrent recordings one core sustains without
 * losing frames. Writes the `<!-- bench:record -->` section of bench/RESULTS.md.
 *
 *   npx tsx bench/record/run.ts [--levels 1,4,8,12,16] [--seconds 8] [--no-write]
 *
 * Feed: `publish` sessions (src/rtc/publish.ts) sending a 640x480@30 VP8 test pattern (~1 Mbit/s, made with ffmpeg
 * into bench/out/; the 250 kbit/s fixture if ffmpeg is missing), all in one process pinned to core 0. Under test: N
 * `record` sessions (src/rtc/record.ts, video only, WebM to bench/out/) in one process pinned to core 1, so "one core"
 * is one JS thread. Reference in the same run: N "sink" sessions on the same werift receive path that only count
 * frames (no depacketizing, jitter buffer or muxing). Traffic stays on 127.0.0.1.
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { startSignalingServer } from '../../src/signaling/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'bench/out/record');
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const levels = flag('--levels', '1,4,8,12,16').split(',').map(Number);
const seconds = Number(flag('--seconds', '8'));
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
    const child = spawn(cmd, full, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 90) * 1000);
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

async function main(): Promise<void> {
  const src = makeSource();
  const srv = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null, roomSize: 2, rateLimit: { perSecond: 1000, burst: 5000 } });
  const rows: { mode: string; n: number; rec: WorkerOut; pub: WorkerOut }[] = [];
  try {
    for (const mode of modes) {
      for (const n of levels) {
        // A level that loses frames is run once more before the ladder stops: on a shared machine one stream can
        // stall for reasons that have nothing to do with the code under test. Both attempts are reported.
        let ok = false;
        for (let attempt = 1; attempt <= 2 && !ok; attempt++) {
          const pub = runWorker(0, ['publisher', String(n), srv.signalUrl, src.path, String(seconds + 45)]);
          const rec = await runWorker(1, [mode, String(n), srv.signalUrl, OUT, String(seconds)]);
          const p = await pub;
          rows.push({ mode, n, rec, pub: p });
          ok = rec.minFps !== undefined && rec.minFps >= OK_SHARE * FPS;
          process.stderr.write(
            `${mode} n=${n}: cpu ${rec.cpuPct?.toFixed(1) ?? '?'}% minFps ${rec.minFps?.toFixed(1) ?? '?'} meanFps ${rec.meanFps?.toFixed(1) ?? '?'} publisher cpu ${p.cpuPct?.toFixed(0) ?? '?'}% ${rec.error ?? ''} ${rec.failed?.join(' | ') ?? ''}${ok ? '' : ' (frames lost)'}\n`,
          );
        }
        if (!ok) break;
      }
    }
  } finally {
    await srv.close();
  }

  const per = (mode: string): { cpuPerStream?: number; maxOk: number; maxTried: number } => {
    const r = rows.filter((x) => x.mode === mode);
    const okRows = r.filter((x) => x.rec.minFps !== undefined && x.rec.minFps >= OK_SHARE * FPS);
    const one = okRows.find((x) => x.n === Math.max(...okRows.map((o) => o.n)));
    return { cpuPerStream: one?.rec.cpuPct !== undefined ? one.rec.cpuPct / one.n : undefined, maxOk: okRows.length ? Math.max(...okRows.map((o) => o.n)) : 0, maxTried: r.length ? Math.max(...r.map((o) => o.n)) : 0 };
  };
  const recS = per('recorder');
  const sinkS = per('sink');
  /** CPU per added stream between the smallest and the largest sustained level: the fixed cost of one process aside. */
  const marginal = (): string => {
    const okRec = rows.filter((x) => x.mode === 'recorder' && x.rec.minFps !== undefined && x.rec.minFps >= OK_SHARE * FPS && x.rec.cpuPct !== undefined);
    if (okRec.length < 2) return '';
    const lo = okRec.reduce((a, b) => (b.n < a.n ? b : a));
    const hi = okRec.reduce((a, b) => (b.n > a.n ? b : a));
    if (hi.n === lo.n) return '';
    const m = (hi.rec.cpuPct! - lo.rec.cpuPct!) / (hi.n - lo.n);
    return (
      `Marginal cost of one more recording: ${m.toFixed(2)} % of a core (from ${lo.n} to ${hi.n} streams); one recording process idles at ` +
      `${lo.rec.cpuPct!.toFixed(1)} % with ${lo.n} stream(s) (timers, RTCP, REMB). ${hi.n} streams were the largest level tried, not a ceiling: ` +
      `at ${hi.rec.cpuPct!.toFixed(0)} % of the core the recorder still kept every stream at ${hi.rec.minFps!.toFixed(1)} fps. Browsers send ` +
      'more packets than this ~1 Mbit/s source when REMB lets them ramp up to 2.5 Mbit/s, so budget more per stream for real cameras.'
    );
  };
  const streamsPerCore = (cpu?: number): string => (cpu ? (100 / cpu).toFixed(1) : 'n/a');
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const werift = JSON.parse(readFileSync(join(ROOT, 'node_modules/werift/package.json'), 'utf8')) as { version: string };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  const lines = [
    '',
    '### record: CPU per recorded stream and concurrent recordings per core',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus().length} cores (\`nproc\`), ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB · Node ${process.version}, werift ${werift.version} · commit ${commit} · ${seconds} s window per level${PIN ? ' · publishers pinned to core 0, receivers to core 1 (taskset)' : ''}`,
    '',
    `Command: \`npx tsx bench/record/run.ts --levels ${levels.join(',')} --seconds ${seconds}\``,
    '',
    `Source: ${src.label}, sent by \`publish\` sessions over 127.0.0.1. "Sustained" = every stream kept ≥ ${Math.round(OK_SHARE * 100)} % of 30 fps over the window. ` +
      'The machine was shared with other agents\' tests while this ran: compare the columns of the same run, not absolute figures.',
    '',
    '| | `record` (depacketize + jitter buffer + WebM mux + write) | reference: werift receive only (count frames) | ratio |',
    '|---|---|---|---|',
    `| CPU per 640x480@30 stream (% of one core, at the largest sustained level) | ${recS.cpuPerStream?.toFixed(2) ?? 'n/a'} | ${sinkS.cpuPerStream?.toFixed(2) ?? 'n/a'} | ${recS.cpuPerStream && sinkS.cpuPerStream ? (recS.cpuPerStream / sinkS.cpuPerStream).toFixed(2) + '×' : ''} |`,
    `| streams one core sustains, measured (largest level tried: ${recS.maxTried} / ${sinkS.maxTried}) | ${recS.maxOk} | ${sinkS.maxOk} | |`,
    `| streams per core extrapolated from CPU per stream (target ≥ 10) | ${streamsPerCore(recS.cpuPerStream)} | ${streamsPerCore(sinkS.cpuPerStream)} | |`,
    '',
    marginal(),
    '',
    'Every level:',
    '',
    '| mode | streams | receiver CPU % | CPU % per stream | min fps | mean fps | receiver RSS MB | publisher CPU % |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.n} | ${r.rec.cpuPct?.toFixed(1) ?? r.rec.error ?? '?'} | ${r.rec.cpuPct !== undefined ? (r.rec.cpuPct / r.n).toFixed(2) : ''} | ${r.rec.minFps?.toFixed(1) ?? ''} | ${r.rec.meanFps?.toFixed(1) ?? ''} | ${r.rec.rssMb?.toFixed(0) ?? ''} | ${r.pub.cpuPct?.toFixed(0) ?? r.pub.error?.slice(0, 60) ?? ''} |`,
    ),
    '',
  ];
  const section = lines.join('\n');
  process.stdout.write(section + '\n');
  if (write) {
    const file = join(ROOT, 'bench/RESULTS.md');
    const text = readFileSync(file, 'utf8');
    const anchor = '<!-- bench:record -->';
    const start = text.indexOf(anchor);
    if (start < 0) throw new Error(`${anchor} is missing from bench/RESULTS.md`);
    const after = start + anchor.length;
    const next = text.indexOf('<!-- bench:', after);
    writeFileSync(file, text.slice(0, after) + '\n' + section + (next >= 0 ? '\n' + text.slice(next) : ''));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/record failed: ${String(e)}\n`);
  process.exit(1);
});
