/**
 * turn-check wall time per transport (UDP, TCP, TLS) against a real coturn on loopback, next to coturn's own test
 * client doing comparable work in the same run:
 *   rtc-cli turn-check <url> --no-ice --json      two allocations, Refresh, CreatePermission x2, ChannelBind,
 *                                                 10 x 100-byte packets through the relay and back, Refresh(0) x2
 *   rtc-cli turn-check <url> --json               the same + a relay-only werift ICE/DTLS/SCTP connection with a
 *                                                 data-channel echo (the browser path)
 *   turnutils_uclient -n 10 -m 1 -l 100 -z 5 -e 127.0.0.1 -r <turnutils_peer port> [-t] [-S -E ca]
 *                                                 one allocation, permission/channel, 10 x 100-byte packets to an
 *                                                 echoing turnutils_peer and back
 * coturn is pinned to core 1 (taskset); the clients are not pinned. Each cell is the median of REPS fresh processes;
 * the verdict each printed is shown, so speed is never compared between a pass and a silent failure.
 *
 *   npm run build && npx tsx bench/diagnostics/turn-check.ts              # REPS=5 by default
 *   REPS=3 npx tsx bench/diagnostics/turn-check.ts --no-write             # do not touch bench/RESULTS.md
 *
 * Reports with the rules of bench/lib (median, computed prose, measured load). Writes the part of bench/RESULTS.md after
 * `<!-- bench:diagnostics-turn -->` (up to the next `<!-- bench:` anchor).
 */
import { spawn, spawnSync } from 'node:child_process';
import { BIN } from '../../test/helpers/cli.js';
import { freeUdpTcpPort, startCoturn } from '../../test/helpers/coturn.js';
import {
  commandLine,
  fmt,
  formatLoad,
  loadBetween,
  machineHeader,
  machineInfo,
  mdTable,
  median,
  sampleCpu,
  startLoadMonitor,
  writeResultsSection,
} from '../lib/index.js';

const REPS = Number(process.env.REPS ?? 5);
const write = !process.argv.includes('--no-write');
const ANCHOR = '<!-- bench:diagnostics-turn -->';
/** Target of the issue: a full check of one transport within 1 s on loopback. */
const TARGET_MS = 1000;

interface Run {
  ms: number;
  verdict: string;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; stdout: string; code: number | null } {
  const t0 = performance.now();
  // Clients are not pinned: turn-check loads werift in a worker thread in parallel with its TURN steps, as it would on
  // any CI runner with two or more cores.
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { ms: performance.now() - t0, stdout: r.stdout + r.stderr, code: r.status };
}

/** Every distinct verdict of a cell's runs, with the varying figures blanked (more than one: the tool flapped). */
const verdicts = (rs: Run[]): string => [...new Set(rs.map((r) => r.verdict.replace(/p50 [\d.]+ ms/, 'p50 …').replace(/ICE \d+ ms/, 'ICE …')))].join(' / ');

async function main(): Promise<void> {
  const monitor = startLoadMonitor();
  const turn = await startCoturn();
  // Pin every coturn thread to core 1 (the fixture's pid is stdbuf, which execs turnserver in place).
  spawnSync('taskset', ['-a', '-cp', '1', String(turn.pid)], { stdio: 'ignore' });
  const peerPort = await freeUdpTcpPort();
  const peer = spawn('taskset', ['-c', '1', 'turnutils_peer', '-p', String(peerPort), '-L', '127.0.0.1'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const env = { RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: turn.password };
  const transports = [
    { name: 'udp', url: turn.urls.udp, uclient: ['-p', String(turn.port)] },
    { name: 'tcp', url: turn.urls.tcp, uclient: ['-p', String(turn.port), '-t'] },
    { name: 'tls', url: turn.urls.tls, uclient: ['-p', String(turn.tlsPort), '-t', '-S', '-E', turn.caFile] },
  ];
  const rtc = (url: string, ice: boolean): Run => {
    const r = timed(process.execPath, [BIN, 'turn-check', '--json', '--ca', turn.caFile, ...(ice ? [] : ['--no-ice']), url], env);
    try {
      const j = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{"ok"')).pop() ?? '') as {
        ok: boolean;
        checks: Array<{ relay: { lossPct: number; rttMs: { p50: number } | null }; ice: { ms: number | null } }>;
      };
      const c = j.checks[0]!;
      return { ms: r.ms, verdict: `${j.ok ? 'pass' : 'FAIL'}, loss ${c.relay.lossPct} %, p50 ${c.relay.rttMs?.p50 ?? '-'} ms${ice ? `, ICE ${Math.round(c.ice.ms ?? 0)} ms` : ''}` };
    } catch {
      return { ms: r.ms, verdict: `no JSON (exit ${r.code})` };
    }
  };
  const uclient = (args: string[], port = peerPort): Run & { code: number | null; lossPct?: number } => {
    const r = timed('turnutils_uclient', ['-u', turn.username, '-w', turn.password, ...args, '-n', '10', '-m', '1', '-l', '100', '-z', '5', '-e', '127.0.0.1', '-r', String(port), '127.0.0.1']);
    const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(r.stdout);
    return { ms: r.ms, code: r.code, lossPct: lost ? Number(lost[2]) : undefined, verdict: lost ? `exit ${r.code}, loss ${Number(lost[2]).toFixed(0)} %` : `exit ${r.code}, no summary` };
  };
  const nodeStart = median(Array.from({ length: REPS }, () => timed(process.execPath, ['-e', '0']).ms));

  const rows: Array<Array<string | number>> = [];
  const summary: Array<{ name: string; a: number; b: number; c: number }> = [];
  let allMs = NaN;
  let allVerdict = '';
  let deadPeer: ReturnType<typeof uclient> | undefined;
  try {
    for (const t of transports) {
      const a: Run[] = [];
      const b: Run[] = [];
      const c: Run[] = [];
      const before = sampleCpu();
      for (let i = 0; i < REPS; i++) {
        a.push(rtc(t.url, false));
        b.push(rtc(t.url, true));
        c.push(uclient(t.uclient));
      }
      const other = loadBetween(before, sampleCpu()).otherCores;
      const [ma, mb, mc] = [median(a.map((r) => r.ms)), median(b.map((r) => r.ms)), median(c.map((r) => r.ms))];
      summary.push({ name: t.name, a: ma, b: mb, c: mc });
      rows.push([t.name, `${fmt(ma)} ms`, `${fmt(mb)} ms`, `${fmt(mc)} ms`, `${(ma / mc).toFixed(2)}×`, verdicts(a), verdicts(b), verdicts(c), fmt(other, 2)]);
      process.stdout.write(`${t.name}: turn-check --no-ice ${Math.round(ma)} ms, turn-check ${Math.round(mb)} ms, uclient ${Math.round(mc)} ms\n`);
    }
    // All three URLs in one process: werift loads once, so this is the per-transport cost a CI job pays.
    const all: Run[] = [];
    const before = sampleCpu();
    for (let i = 0; i < REPS; i++) {
      const r = timed(process.execPath, [BIN, 'turn-check', '--json', '--ca', turn.caFile, ...transports.map((t) => t.url)], env);
      all.push({ ms: r.ms, verdict: r.code === 0 ? 'pass' : `exit ${r.code}` });
    }
    allMs = median(all.map((r) => r.ms));
    allVerdict = verdicts(all);
    const sum = (k: 'a' | 'c'): number => summary.reduce((s, x) => s + x[k], 0);
    rows.push(['all three, one process', `${fmt(sum('a'))} ms (3 processes)`, `${fmt(allMs)} ms = ${fmt(allMs / 3)} ms per transport`, `${fmt(sum('c'))} ms (3 processes)`, '', '', allVerdict, '', fmt(loadBetween(before, sampleCpu()).otherCores, 2)]);
    // The reference's exit code when nothing comes back: a peer port where nothing listens (100 % loss).
    deadPeer = uclient(transports[0]!.uclient, await freeUdpTcpPort());
  } finally {
    peer.kill();
    await turn.stop();
  }

  const worst = Math.max(...summary.map((s) => s.b));
  const perTransport = allMs / 3;
  const text = [
    '',
    '### turn-check: wall time per transport vs turnutils_uclient',
    '',
    machineHeader(machineInfo({ packages: ['werift'], tools: { coturn: ['turnserver', '--version'] } })),
    '',
    `Median of ${REPS} fresh processes per cell; coturn (and turnutils_peer) pinned to core 1, the clients not pinned`,
    '(rtc-cli loads werift in a worker thread in parallel with its TURN steps, as on any CI runner with 2+ cores); everything',
    'on 127.0.0.1. "other load" is the CPU (in cores) that processes outside this benchmark used while the row was measured.',
    `Command: \`npm run build && ${commandLine(['REPS'])}\`.`,
    '',
    mdTable(
      ['transport', 'rtc-cli turn-check --no-ice', 'rtc-cli turn-check (with ICE)', 'turnutils_uclient', '--no-ice / uclient', 'rtc-cli --no-ice said', 'rtc-cli said', 'uclient said', 'other load'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'l', 'l', 'l', 'r'],
    ),
    '',
    'Comparable work: turn-check --no-ice makes two allocations (Refresh, CreatePermission both ways, ChannelBind) and echoes',
    '10 × 100-byte packets relay-to-relay; uclient makes one allocation and echoes 10 × 100-byte packets off turnutils_peer at',
    '5 ms spacing. The full turn-check adds a relay-only werift connection with a data-channel echo.',
    deadPeer
      ? `With no peer listening (100 % loss expected), turnutils_uclient said: ${deadPeer.verdict}${deadPeer.code === 0 ? ' — its exit code does not reflect the loss' : ''}.`
      : '',
    `Node start-up alone (\`node -e 0\`): ${fmt(nodeStart)} ms (median). Target ≤ ${fmt(TARGET_MS)} ms per transport on loopback:`,
    `${perTransport <= TARGET_MS ? 'met' : 'not met'} when the three transports are checked in one run (${fmt(perTransport)} ms each, start-up included);`,
    `the slowest single-URL run with ICE took ${fmt(worst)} ms (median), ${worst <= TARGET_MS ? 'within' : 'over'} the target.`,
    '',
    formatLoad(monitor.stop()),
    '',
  ]
    .filter((l, i, a) => !(l === '' && a[i - 1] === ''))
    .join('\n');
  process.stdout.write(`${text}\n`);
  if (!write) return;
  writeResultsSection(ANCHOR, text);
  process.stdout.write('updated bench/RESULTS.md\n');
}

await main();
