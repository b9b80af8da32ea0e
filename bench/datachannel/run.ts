/**
 * bench/datachannel: 64 MiB between two processes on loopback, median of N runs, three ways in the same run:
 *
 *   1. send-file → recv-file end to end (real rtc-cli processes through an in-process signaling server; the file is
 *      read from disk, SHA-256 hashed, sent, written to <name>.part, fsynced, verified and renamed);
 *   2. raw werift: the same chunking and backpressure, bytes from memory, no hashing, no disk (bench/datachannel/peer.ts);
 *   3. raw node-datachannel (libdatachannel, C++): the external reference.
 *
 *   npx tsx bench/datachannel/run.ts [--runs 3] [--mib 64] [--no-write]
 *
 * Sender pinned to CPU 0, receiver to CPU 1 (taskset). CPU seconds and peak RSS come from /usr/bin/time for whole
 * processes (startup included) — and, for the raw peers, also from the peer itself over the transfer only.
 * Loopback only: --ice-address 127.0.0.1 / bindAddress 127.0.0.1, no STUN/TURN.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startSignalingServer } from '../../src/signaling/server.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    mib: { type: 'string', default: '64' },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const DEBUG = process.env.BENCH_DEBUG === "1";
const BYTES = Number(values.mib) * 1024 * 1024;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/rtc-cli.js');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const PEER = join(ROOT, 'bench/datachannel/peer.ts');

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMB: number;
}

/** Run under taskset + /usr/bin/time; the last stderr line is "%U %S %M". */
function run(cpu: number, argv: string[], onLine?: (line: string) => void): { done: Promise<Proc>; write: (s: string) => void } {
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', String(cpu), '/usr/bin/time', '-f', 'TIME %U %S %M', ...argv], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (l) => {
    stdout += l + "\n";
    if (DEBUG) process.stderr.write(`[out] ${l.slice(0, 120)}\n`);
    onLine?.(l);
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (DEBUG) process.stderr.write(d);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Proc>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      resolve({
        code,
        stdout,
        stderr,
        wallSeconds: (performance.now() - t0) / 1000,
        cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN,
        maxRssMB: m ? Number(m[3]) / 1024 : NaN,
      });
    }),
  );
  return { done, write: (s) => void child.stdin.write(s) };
}

interface Sample {
  MBps: number;
  seconds: number;
  wallSeconds: number;
  sendCpu: number;
  recvCpu: number;
  sendRssMB: number;
  recvRssMB: number;
  /** Raw peers: CPU seconds over the transfer only. */
  sendCpuTransfer?: number;
  recvCpuTransfer?: number;
}

async function sendFileOnce(signalUrl: string, src: string, dir: string, i: number): Promise<Sample> {
  const out = join(dir, `out-${i}`);
  mkdirSync(out);
  const room = `bench-${process.pid}-${i}`;
  const flags = ['--signal', signalUrl, '--room', room, '--ice-address', '127.0.0.1', '--json', '--timeout', '60'];
  const t0 = performance.now();
  const recv = run(1, [process.execPath, BIN, 'recv-file', ...flags, '--out', out]);
  const send = run(0, [process.execPath, BIN, 'send-file', ...flags, src]);
  const [s, r] = await Promise.all([send.done, recv.done]);
  const wall = (performance.now() - t0) / 1000;
  if (s.code !== 0 || r.code !== 0) throw new Error(`send-file run failed: ${s.stderr.slice(-500)} ${r.stderr.slice(-500)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; bytes: number };
  rmSync(out, { recursive: true, force: true });
  return {
    MBps: res.bytes / 1e6 / res.seconds,
    seconds: res.seconds,
    wallSeconds: wall,
    sendCpu: s.cpuSeconds,
    recvCpu: r.cpuSeconds,
    sendRssMB: s.maxRssMB,
    recvRssMB: r.maxRssMB,
  };
}

async function rawOnce(impl: 'werift' | 'ndc'): Promise<Sample> {
  const t0 = performance.now();
  const peers: { write: (s: string) => void }[] = [];
  const relay = (to: number) => (line: string) => {
    if (line.startsWith('{"sig"')) peers[to]!.write(line + '\n');
  };
  const args = (role: string): string[] => [process.execPath, TSX, PEER, '--impl', impl, '--role', role, '--bytes', String(BYTES)];
  const recv = run(1, args('recv'), relay(0));
  const send = run(0, args('send'), relay(1));
  peers.push(send, recv);
  const [s, r] = await Promise.all([send.done, recv.done]);
  const wall = (performance.now() - t0) / 1000;
  const resOf = (p: Proc): { seconds: number; cpuSeconds: number } => {
    const line = p.stdout.split('\n').find((l) => l.startsWith('{"result"'));
    if (!line) throw new Error(`raw ${impl} failed: ${p.stderr.slice(-800)}`);
    return (JSON.parse(line) as { result: { seconds: number; cpuSeconds: number } }).result;
  };
  const sr = resOf(s);
  const rr = resOf(r);
  return {
    MBps: BYTES / 1e6 / sr.seconds,
    seconds: sr.seconds,
    wallSeconds: wall,
    sendCpu: s.cpuSeconds,
    recvCpu: r.cpuSeconds,
    sendRssMB: s.maxRssMB,
    recvRssMB: r.maxRssMB,
    sendCpuTransfer: sr.cpuSeconds,
    recvCpuTransfer: rr.cpuSeconds,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function summarize(samples: Sample[]): Record<keyof Sample, number> {
  const keys = Object.keys(samples[0]!) as (keyof Sample)[];
  return Object.fromEntries(keys.map((k) => [k, median(samples.map((x) => x[k] ?? NaN))])) as Record<keyof Sample, number>;
}

const dir = mkdtempSync(join(tmpdir(), 'rtc-bench-dc-'));
const src = join(dir, 'payload.bin');
{
  const fd = openSync(src, 'w');
  const h = createHash('sha256');
  for (let left = BYTES; left > 0; left -= 1 << 20) {
    const b = randomBytes(Math.min(left, 1 << 20));
    h.update(b);
    writeSync(fd, b);
  }
  closeSync(fd);
}
const server = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null });
const results: Record<string, Sample[]> = { 'send-file': [], 'raw werift': [], 'raw node-datachannel': [] };
const failures: Record<string, number> = {};
try {
  // Interleave the variants so machine noise hits all of them alike.
  for (let i = 0; i < RUNS; i++) {
    const variants: [string, () => Promise<Sample>][] = [
      ['send-file', () => sendFileOnce(server.signalUrl, src, dir, i)],
      ['raw werift', () => rawOnce('werift')],
      ['raw node-datachannel', () => rawOnce('ndc')],
    ];
    for (const [name, once] of variants) {
      const t = performance.now();
      try {
        results[name]!.push(await once());
      } catch (e) {
        // A stalled run (killed after 60 s) is reported, not hidden: it counts in the "failed" column.
        failures[name] = (failures[name] ?? 0) + 1;
        process.stderr.write(`${name} run ${i + 1} failed after ${((performance.now() - t) / 1000).toFixed(0)} s: ${(e as Error).message.slice(0, 300)}\n`);
      }
      process.stderr.write(`run ${i + 1}/${RUNS} ${name}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
  }
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

const med = Object.fromEntries(Object.entries(results).filter(([, v]) => v.length > 0).map(([k, v]) => [k, summarize(v)]));
if (!med['send-file'] || !med['raw werift']) throw new Error(`no successful runs to compare: ${JSON.stringify(failures)}`);
const ratio = med['send-file']!.MBps / med['raw werift']!.MBps;
const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
const rows = Object.entries(med).map(
  ([name, m]) =>
    `| ${name} | ${f(m.MBps)} | ${f(m.seconds, 2)} | ${f(m.wallSeconds, 2)} | ${f(m.sendCpu, 2)} / ${f(m.recvCpu, 2)} | ${m.sendCpuTransfer !== undefined ? `${f(m.sendCpuTransfer, 2)} / ${f(m.recvCpuTransfer ?? NaN, 2)}` : '–'} | ${f(m.sendRssMB, 0)} / ${f(m.recvRssMB, 0)} | ${results[name]!.map((s) => f(s.MBps)).join(', ')}${failures[name] ? ` (+${failures[name]} stalled)` : ''} |`,
);
const pkg = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const table = [
  '| variant | MB/s (median) | transfer s | wall s (process start → exit) | CPU s send / recv (whole process) | CPU s send / recv (transfer only) | peak RSS MB send / recv | MB/s per run |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write(`${table}\n\nsend-file / raw werift = ${ratio.toFixed(2)} (target >= 0.9)\n`);

if (!values['no-write']) {
  const section = `<!-- bench:datachannel -->
## Data channel: send-file vs raw werift vs node-datachannel

${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, werift ${pkg('werift')},
node-datachannel ${pkg('node-datachannel')}. Command: \`npx tsx bench/datachannel/run.ts --runs ${RUNS} --mib ${values.mib}\` (after \`npm run build\`).
${values.mib} MiB between two processes on loopback (127.0.0.1, host candidates only), median of ${RUNS} interleaved runs,
sender on CPU 0 and receiver on CPU 1 (taskset). The machine was shared with other agents' test runs while this ran:
compare the ratios, not the absolute figures.

- **send-file**: \`rtc-cli send-file\` → \`rtc-cli recv-file\` through an in-process signaling server; the file is read
  from disk (SHA-256 hashed while the connection is set up, before the header goes out), written to \`.part\`, hashed,
  fsynced and renamed. "transfer s" is the result's \`seconds\` (channel open → last ack); wall includes Node + werift
  start-up, signaling and ICE/DTLS setup (the raw peers start through tsx, hence their longer wall time).
- **raw werift**: the same 64 KiB messages and backpressure (bufferedAmount ≤ 512 KiB, resume below 256 KiB), bytes from
  memory, no hashing, no disk (\`bench/datachannel/peer.ts\`), timed from channel open to the receiver's "done".
- **raw node-datachannel**: libdatachannel (C++) with the same chunking, as the external reference.

${table}

**send-file / raw werift = ${ratio.toFixed(2)}** (target ≥ 0.9).
`;
  const resultsPath = join(ROOT, 'bench/RESULTS.md');
  const text = readFileSync(resultsPath, 'utf8');
  const start = text.indexOf('<!-- bench:datachannel -->');
  const next = text.indexOf('<!-- bench:', start + 5);
  const updated = text.slice(0, start) + section + '\n' + (next >= 0 ? text.slice(next) : '');
  writeFileSync(resultsPath, updated);
  process.stderr.write('bench/RESULTS.md updated\n');
}
