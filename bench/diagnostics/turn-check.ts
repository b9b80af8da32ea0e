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
 * Writes the part of bench/RESULTS.md after `<!-- bench:diagnostics-turn -->` (up to the next `<!-- bench:` anchor);
 * when that anchor is missing it is added at the end of the `<!-- bench:diagnostics -->` section.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BIN } from '../../test/helpers/cli.js';
import { freeUdpTcpPort, startCoturn } from '../../test/helpers/coturn.js';

const REPS = Number(process.env.REPS ?? 5);
const write = !process.argv.includes('--no-write');
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const DIAG_ANCHOR = '<!-- bench:diagnostics -->';
const ANCHOR = '<!-- bench:diagnostics-turn -->';

interface Run {
  ms: number;
  verdict: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; stdout: string; code: number | null } {
  const t0 = performance.now();
  // Clients are not pinned: turn-check loads werift in a worker thread in parallel with its TURN steps, as it would on
  // any CI runner with two or more cores.
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { ms: performance.now() - t0, stdout: r.stdout + r.stderr, code: r.status };
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0]!;
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? '').trim().split('\n')[0] || '?';
  }
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
  const turn = await startCoturn();
  // Pin every coturn thread to core 1 (the fixture's pid is stdbuf, which execs turnserver in place).
  spawnSync('taskset', ['-a', '-cp', '1', String(turn.pid)], { stdio: 'ignore' });
  const peerPort = await freeUdpTcpPort();
  const peer = spawn('taskset', ['-c', '1', 'turnutils_peer', '-p', String(peerPort), '-L', '127.0.0.1'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const env = { RTC_TURN_USERNAME: turn.username, RTC_TURN_CREDENTIAL: turn.password };
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
  const uclient = (args: string[]): Run => {
    const r = timed('turnutils_uclient', ['-u', turn.username, '-w', turn.password, ...args, '-n', '10', '-m', '1', '-l', '100', '-z', '5', '-e', '127.0.0.1', '-r', String(peerPort), '127.0.0.1']);
    const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(r.stdout);
    return { ms: r.ms, verdict: lost ? `exit ${r.code}, loss ${Number(lost[2]).toFixed(0)} %` : `exit ${r.code}, no summary` };
  };
  const nodeStart = median(Array.from({ length: REPS }, () => timed(process.execPath, ['-e', '0']).ms));

  const rows: string[] = [];
  let perTransportAll = NaN;
  const summary: Array<{ name: string; a: number; b: number; c: number }> = [];
  try {
    for (const t of transports) {
      const a: Run[] = [];
      const b: Run[] = [];
      const c: Run[] = [];
      for (let i = 0; i < REPS; i++) {
        a.push(rtc(t.url, false));
        b.push(rtc(t.url, true));
        c.push(uclient(t.uclient));
      }
      const [ma, mb, mc] = [median(a.map((r) => r.ms)), median(b.map((r) => r.ms)), median(c.map((r) => r.ms))];
      summary.push({ name: t.name, a: ma, b: mb, c: mc });
      const v = (rs: Run[]): string => [...new Set(rs.map((r) => r.verdict.replace(/p50 [\d.]+ ms/, 'p50 …').replace(/ICE \d+ ms/, 'ICE …')))].join(' / ');
      rows.push(
        `| ${t.name} | ${Math.round(ma)} ms | ${Math.round(mb)} ms | ${Math.round(mc)} ms | ${(ma / mc).toFixed(2)}× | ${v(a)} | ${v(b)} | ${v(c)} |`,
      );
      process.stdout.write(`${t.name}: turn-check --no-ice ${Math.round(ma)} ms, turn-check ${Math.round(mb)} ms, uclient ${Math.round(mc)} ms\n`);
    }
    // All three URLs in one process: werift loads once, so this is the per-transport cost a CI job pays.
    const all: number[] = [];
    let allVerdict = '';
    for (let i = 0; i < REPS; i++) {
      const r = timed(process.execPath, [BIN, 'turn-check', '--json', '--ca', turn.caFile, ...transports.map((t) => t.url)], env);
      all.push(r.ms);
      allVerdict = r.code === 0 ? 'pass' : `exit ${r.code}`;
    }
    const mAll = median(all);
    const uclientSum = summary.reduce((s, x) => s + x.c, 0);
    rows.push(
      `| all three, one process | ${Math.round(summary.reduce((s, x) => s + x.a, 0))} ms (3 processes) | ${Math.round(mAll)} ms = ${Math.round(mAll / 3)} ms per transport | ${Math.round(uclientSum)} ms (3 processes) | | | ${allVerdict} | |`,
    );
    perTransportAll = mAll / 3;
  } finally {
    peer.kill();
    await turn.stop();
  }

  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const commit = version('git', ['rev-parse', '--short', 'HEAD']);
  const worst = Math.max(...summary.map((s) => s.b));
  const section = [
    ANCHOR,
    '### turn-check: wall time per transport vs turnutils_uclient',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, nproc ${nproc} (${cpu}), Node ${process.version}, werift 0.24.4, coturn ${version('turnserver', ['--version'])}, commit ${commit}.`,
    `The machine was shared with other jobs while measured (load average ${loadBefore} before, ${loadavg().map((x) => x.toFixed(1)).join(' ')} after):`,
    `compare columns of the same run. Median of ${REPS} fresh processes`,
    'per cell; coturn (and turnutils_peer) pinned to core 1, the clients not pinned (rtc-cli loads werift in a worker',
    'thread in parallel with its TURN steps, as on any CI runner with 2+ cores); everything on 127.0.0.1.',
    `Command: \`npm run build && REPS=${REPS} npx tsx bench/diagnostics/turn-check.ts\`.`,
    '',
    '| transport | rtc-cli turn-check --no-ice | rtc-cli turn-check (with ICE) | turnutils_uclient | --no-ice / uclient | rtc-cli --no-ice said | rtc-cli said | uclient said |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Comparable work: turn-check --no-ice makes two allocations (Refresh, CreatePermission both ways, ChannelBind) and echoes`,
    '10 × 100-byte packets relay-to-relay; uclient makes one allocation and echoes 10 × 100-byte packets off turnutils_peer at',
    `5 ms spacing. uclient's time is mostly its own fixed waits after the last packet (it also exits 0 at 100 % loss).`,
    `The full turn-check adds a relay-only werift connection with a data-channel echo; werift loads (~0.4 s) in a worker while`,
    `the TURN steps run. Node start-up alone (\`node -e 0\`): ${Math.round(nodeStart)} ms. Target ≤ 1 s per transport on loopback:`,
    `${perTransportAll <= 1000 ? 'met' : 'not met'} when the transports are checked in one run (${Math.round(perTransportAll)} ms each, start-up included);`,
    `a single-URL run with ICE took up to ${Math.round(worst)} ms (Node start-up + werift load + ICE/DTLS/SCTP), ${worst <= 1000 ? 'also within' : 'over'} the target.`,
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!write) return;

  const md = readFileSync(RESULTS, 'utf8');
  let out: string;
  const at = md.indexOf(ANCHOR);
  if (at >= 0) {
    const next = md.indexOf('<!-- bench:', at + ANCHOR.length);
    out = md.slice(0, at) + section + '\n' + (next >= 0 ? md.slice(next) : '');
  } else {
    const diag = md.indexOf(DIAG_ANCHOR);
    if (diag < 0) throw new Error(`${RESULTS} has neither ${ANCHOR} nor ${DIAG_ANCHOR}`);
    const next = md.indexOf('<!-- bench:', diag + DIAG_ANCHOR.length);
    const cut = next >= 0 ? next : md.length;
    out = md.slice(0, cut).replace(/\n*$/, '\n\n') + section + '\n' + md.slice(cut);
  }
  // Write-then-rename: never leave a half-written RESULTS.md.
  writeFileSync(`${RESULTS}.tmp`, out);
  renameSync(`${RESULTS}.tmp`, RESULTS);
  process.stdout.write(`updated ${RESULTS}\n`);
}

await main();
