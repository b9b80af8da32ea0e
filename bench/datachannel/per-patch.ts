/**
 * bench/datachannel/per-patch.ts: what each werift patch adds. Builds werift with the first k patches (k = 0 … all)
 * from the installed copy (patches reversed, then re-applied up to k with patch-package) under bench/out/, and runs
 * the raw werift pair of bench/datachannel/peer.ts on loopback for each, interleaved, median of N runs.
 *
 *   npx tsx bench/datachannel/per-patch.ts [--runs 5] [--mib 32] [--no-write]
 *
 * Reports, per stage, the median run by MB/s with each side's CPU per MB over the transfer from that same run, every
 * run's MB/s, and the cores other processes used (bench/lib rules). Writes the `<!-- bench:datachannel-patches -->`
 * section of bench/RESULTS.md unless --no-write.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { commandLine, fmt, formatLoad, loadBetween, machineHeader, machineInfo, median, medianRound, ROOT, sampleCpu, startLoadMonitor, writeResultsSection } from '../lib/index.js';
import { measured, prepareStockWerift, Watch } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    mib: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const BYTES = Number(values.mib) * 1024 * 1024;
const OUT = join(ROOT, 'bench/out/werift-per-patch');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const PEER = join(ROOT, 'bench/datachannel/peer.ts');

const patches = readdirSync(join(ROOT, 'patches')).filter((f) => f.endsWith('.patch')).sort();
const name = (f: string): string => f.replace(/^werift\+[^+]+\+\d+\+/, '').replace(/\.patch$/, '');

/** bench/out/werift-per-patch/k/node_modules/werift with the first k patches applied. */
function buildStages(): string[] {
  rmSync(OUT, { recursive: true, force: true });
  const stock = prepareStockWerift(ROOT, join(OUT, '0'));
  const dirs = [stock];
  for (let k = 1; k <= patches.length; k++) {
    const dir = join(OUT, String(k));
    const patchDir = join(OUT, `patches-${k}`);
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    mkdirSync(patchDir);
    for (const p of patches.slice(0, k)) cpSync(join(ROOT, 'patches', p), join(patchDir, p));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `werift-stage-${k}`, private: true }));
    cpSync(stock, join(dir, 'node_modules/werift'), { recursive: true });
    execFileSync(process.execPath, [join(ROOT, 'node_modules/patch-package/dist/index.js'), '--patch-dir', relative(dir, patchDir), '--error-on-fail'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    // patch-package writes its record (.patch-package.json) only for two patches or more: compare the bundle instead.
    const bundle = (d: string): string => readFileSync(join(d, 'lib/index.mjs'), 'utf8');
    if (bundle(join(dir, 'node_modules/werift')) === bundle(dirs[k - 1]!)) throw new Error(`stage ${k}: ${patches[k - 1]} changed nothing`);
    dirs.push(join(dir, 'node_modules/werift'));
  }
  return dirs;
}

interface Sample {
  MBps: number;
  sendCpuPerMB: number;
  recvCpuPerMB: number;
  otherLoad: number;
}

async function pair(weriftDir: string): Promise<Omit<Sample, 'otherLoad'>> {
  const args = (role: string): string[] => [process.execPath, TSX, PEER, '--impl', 'werift', '--role', role, '--bytes', String(BYTES), '--werift', weriftDir];
  const final: Record<string, { bytes: number; seconds: number; cpuSeconds: number }> = {};
  const procs: ReturnType<typeof measured>[] = [];
  const watch = new Watch({ stallMs: 10_000, setupMs: 60_000, capMs: 600_000 }, () => procs.forEach((p) => p.interrupt()));
  const onLine = (role: string, other: () => ReturnType<typeof measured>) => (l: string): void => {
    if (l.startsWith('{"sig"')) other().write(l + '\n');
    else if (l.startsWith('{"progress"') && role === 'recv') watch.progress((JSON.parse(l) as { progress: { bytes: number } }).progress.bytes);
    else if (l.startsWith('{"result"')) final[role] = (JSON.parse(l) as { result: { bytes: number; seconds: number; cpuSeconds: number } }).result;
  };
  const recv = measured(1, args('recv'), { onLine: onLine('recv', () => send) });
  const send = measured(0, args('send'), { onLine: onLine('send', () => recv) });
  procs.push(send, recv);
  await Promise.all([send.done, recv.done]);
  watch.close();
  if (watch.outcome !== 'complete' || !final.send || !final.recv) throw new Error(`run ${watch.outcome}`);
  const mb = BYTES / 1e6;
  return { MBps: mb / final.recv.seconds, sendCpuPerMB: final.send.cpuSeconds / mb, recvCpuPerMB: final.recv.cpuSeconds / mb };
}

const info = machineInfo({ packages: ['werift', 'patch-package'] });
const stages = buildStages();
const samples: Sample[][] = stages.map(() => []);
const failures: string[] = [];
const monitor = startLoadMonitor();
for (let i = 0; i < RUNS; i++) {
  for (let k = 0; k < stages.length; k++) {
    const before = sampleCpu();
    try {
      const s = await pair(stages[k]!);
      samples[k]!.push({ ...s, otherLoad: loadBetween(before, sampleCpu()).otherCores });
      process.stderr.write(`run ${i + 1}/${RUNS} stage ${k}: ${s.MBps.toFixed(1)} MB/s\n`);
    } catch (e) {
      failures.push(`stage ${k} run ${i + 1}: ${(e as Error).message}`);
      process.stderr.write(`run ${i + 1}/${RUNS} stage ${k}: FAILED ${(e as Error).message}\n`);
    }
  }
}
const load = monitor.stop();
rmSync(OUT, { recursive: true, force: true });

const f = (n: number, d = 1): string => fmt(n, d);
/** The median run by MB/s (bench/lib rule 1); its CPU figures come from that same run. */
const mid = (k: number): Sample | undefined => (samples[k]!.length ? medianRound(samples[k]!, (s) => s.MBps) : undefined);
const rows = stages.map((_, k) => {
  const m = mid(k);
  const label = k === 0 ? 'stock werift' : `+ ${String(k).padStart(3, '0')} ${name(patches[k - 1]!)}`;
  return `| ${label} | ${f(m?.MBps ?? NaN)} | ${f((m?.sendCpuPerMB ?? NaN) * 1000, 0)} | ${f((m?.recvCpuPerMB ?? NaN) * 1000, 0)} | ${samples[k]!.map((s) => f(s.MBps)).join(', ')} | ${f(median(samples[k]!.map((s) => s.otherLoad)), 2)} |`;
});
const last = stages.length - 1;
const table = [
  '| werift with patches up to | MB/s (median run) | sender CPU ms/MB (that run) | receiver CPU ms/MB (that run) | MB/s per run | other load, cores |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
const a = mid(0);
const z = mid(last);
const summary =
  a && z
    ? `All patches: ${f(z.MBps / a.MBps, 2)}× the throughput of stock werift (median runs), sender CPU per MB ${f((1 - z.sendCpuPerMB / a.sendCpuPerMB) * 100, 0)} % lower, receiver ${f((1 - z.recvCpuPerMB / a.recvCpuPerMB) * 100, 0)} % lower.${failures.length ? ` Failed runs: ${failures.join('; ')}.` : ' No run failed.'}`
    : `Not enough runs to compare: ${failures.join('; ')}.`;
const header = `${machineHeader(info)}. Command: \`${commandLine()}\`.
${formatLoad(load)}`;
process.stdout.write(`${header}\n\n${table}\n\n${summary}\n`);

if (!values['no-write']) {
  writeResultsSection(
    '<!-- bench:datachannel-patches -->',
    `### Data channel: what each werift patch adds (raw werift pair, loopback)

${header}

${values.mib} MiB between two raw werift peers (bench/datachannel/peer.ts) on 127.0.0.1, sender on CPU 0, receiver on CPU 1,
werift built with the patches of patches/ applied cumulatively in their order, stages interleaved, ${RUNS} runs each;
the table gives each stage's median run by MB/s and that run's CPU per MB (each side, over the transfer). What each
patch changes: patches/README.md.

${table}

${summary}
`,
  );
  process.stderr.write('bench/RESULTS.md updated\n');
}
