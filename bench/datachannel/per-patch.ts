/**
 * bench/datachannel/per-patch.ts: what each werift patch adds. Builds werift with the first k patches (k = 0 … all)
 * from the installed copy (patches reversed, then re-applied up to k with patch-package) under bench/out/, and runs
 * the raw werift pair of bench/datachannel/peer.ts on loopback for each, interleaved, median of N runs.
 *
 *   npx tsx bench/datachannel/per-patch.ts [--runs 5] [--mib 32] [--no-write]
 *
 * Reports MB/s and each side's CPU per MB over the transfer. Writes the `<!-- bench:datachannel-patches -->` section of
 * bench/RESULTS.md unless --no-write.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measured, median, otherLoad, prepareStockWerift, Watch } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    mib: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const BYTES = Number(values.mib) * 1024 * 1024;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
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
}

async function pair(weriftDir: string): Promise<Sample> {
  const args = (role: string): string[] => [process.execPath, TSX, PEER, '--impl', 'werift', '--role', role, '--bytes', String(BYTES), '--werift', weriftDir];
  const final: Record<string, { bytes: number; seconds: number; cpuSeconds: number }> = {};
  const procs: ReturnType<typeof measured>[] = [];
  const watch = new Watch({ stallMs: 10_000, setupMs: 60_000, capMs: 600_000 }, () => procs.forEach((p) => p.kill('SIGKILL')));
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

const stages = buildStages();
const samples: Sample[][] = stages.map(() => []);
const failures: string[] = [];
const loads: number[] = [];
const loadBefore = loadavg();
const started = new Date();
for (let i = 0; i < RUNS; i++) {
  for (let k = 0; k < stages.length; k++) {
    loads.push(await otherLoad());
    try {
      const s = await pair(stages[k]!);
      samples[k]!.push(s);
      process.stderr.write(`run ${i + 1}/${RUNS} stage ${k}: ${s.MBps.toFixed(1)} MB/s\n`);
    } catch (e) {
      failures.push(`stage ${k} run ${i + 1}: ${(e as Error).message}`);
      process.stderr.write(`run ${i + 1}/${RUNS} stage ${k}: FAILED ${(e as Error).message}\n`);
    }
  }
}
rmSync(OUT, { recursive: true, force: true });

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
const m = (k: number, key: keyof Sample): number => median(samples[k]!.map((s) => s[key]));
const rows = stages.map((_, k) => {
  const label = k === 0 ? 'stock werift' : `+ ${String(k).padStart(3, '0')} ${name(patches[k - 1]!)}`;
  return `| ${label} | ${f(m(k, 'MBps'))} | ${f(m(k, 'sendCpuPerMB') * 1000, 0)} | ${f(m(k, 'recvCpuPerMB') * 1000, 0)} | ${samples[k]!.map((s) => f(s.MBps)).join(', ')} |`;
});
const last = stages.length - 1;
const table = [
  '| werift with patches up to | MB/s (median) | sender CPU ms/MB | receiver CPU ms/MB | MB/s per run |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
const summary = `All patches: ${f(m(last, 'MBps') / m(0, 'MBps'), 2)}× the throughput of stock werift, sender CPU per MB ${f((1 - m(last, 'sendCpuPerMB') / m(0, 'sendCpuPerMB')) * 100, 0)} % lower, receiver ${f((1 - m(last, 'recvCpuPerMB') / m(0, 'recvCpuPerMB')) * 100, 0)} % lower.${failures.length ? ` Failed runs: ${failures.join('; ')}.` : ' No run failed.'}`;
const header = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}. Command: \`npx tsx bench/datachannel/per-patch.ts --runs ${RUNS} --mib ${values.mib}\`.
Load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; other processes kept ${f(median(loads), 2)} cores busy (median of 1 s samples before each run).`;
process.stdout.write(`${header}\n\n${table}\n\n${summary}\n`);

if (!values['no-write']) {
  const section = `<!-- bench:datachannel-patches -->
### Data channel: what each werift patch adds (raw werift pair, loopback)

${header}

${values.mib} MiB between two raw werift peers (bench/datachannel/peer.ts) on 127.0.0.1, sender on CPU 0, receiver on CPU 1,
werift built with the patches of patches/ applied cumulatively in their order, stages interleaved, median of ${RUNS} runs.
CPU per MB is each side's CPU over the transfer. What each patch changes: patches/README.md.

${table}

${summary}
`;
  const path = join(ROOT, 'bench/RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('<!-- bench:datachannel-patches -->');
  let updated: string;
  if (start < 0) {
    // New section: right after the datachannel one.
    const dc = text.indexOf('<!-- bench:datachannel -->');
    const next = text.indexOf('<!-- bench:', dc + 5);
    updated = next >= 0 ? text.slice(0, next) + section + '\n' + text.slice(next) : `${text}\n${section}`;
  } else {
    const next = text.indexOf('<!-- bench:', start + 5);
    updated = text.slice(0, start) + section + '\n' + (next >= 0 ? text.slice(next) : '');
  }
  writeFileSync(path, updated);
  process.stderr.write('bench/RESULTS.md updated\n');
}
