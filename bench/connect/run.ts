/**
 * bench/connect: how long a connection takes to come up (offer created → DTLS connected, the `setupMs` of the
 * `connected` event) with no ICE server, a STUN server and a TURN server configured, and those servers 50 ms away or
 * unreachable. Real coturn on 127.0.0.1, real `rtc-cli recv-file` (waits first, answers) and `rtc-cli send-file`
 * (joins second, offers) through an in-process signaling server; a 1-byte file, so the transfer itself is negligible.
 *
 *   npx tsx bench/connect/run.ts [--runs 7] [--rtt 50] [--bin name=path/to/bin/rtc-cli.js ...] [--write]
 *
 * `--bin` (repeatable) compares builds in the same run, interleaved (default: this checkout's bin/rtc-cli.js). The
 * trickle prototype is built with `bash bench/connect/build-trickle.sh` (prints its bin path). `--write` replaces the
 * `<!-- bench:connect -->` section of bench/RESULTS.md.
 *
 * Loopback only: every peer uses --ice-address 127.0.0.1; "50 ms away" is bench/connect/udp-delay.ts (this kernel has
 * no sch_netem); "unreachable" is a UDP socket that never answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSignalingServer } from '../../src/signaling/server.js';
import { ROOT, commandLine, fmt, formatLoad, machineHeader, machineInfo, mdTable, median, startLoadMonitor, writeResultsSection, type LoadSummary } from '../lib/index.js';
import { startCoturn } from '../../test/helpers/coturn.js';
import { udpBlackhole, udpDelay, type UdpForwarder } from './udp-delay.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    rtt: { type: 'string', default: '50' },
    bin: { type: 'string', multiple: true },
    only: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const RTT = Number(values.rtt);
const BINS = (values.bin?.length ? values.bin : [`as-is=${join(ROOT, 'bin/rtc-cli.js')}`]).map((b) => {
  const i = b.indexOf('=');
  return { name: b.slice(0, i), path: b.slice(i + 1) };
});

interface Config {
  name: string;
  what: string;
  args: string[];
}

interface Sample {
  offerer?: number;
  answerer?: number;
  path?: string;
  error?: string;
}

/** One recv-file (first, answers) + send-file (second, offers) pair; the setupMs of each side's `connected` event. */
async function once(bin: string, signal: string, cfg: Config, dir: string, n: number): Promise<Sample> {
  const room = `c${n}-${Date.now()}`;
  const common = ['--room', room, '--signal', signal, '--ice-address', '127.0.0.1', '--json', '--timeout', '30', ...cfg.args];
  const out = join(dir, `out-${n}`);
  mkdirSync(out);
  const proc = (args: string[]) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const events: Record<string, unknown>[] = [];
    let buf = '';
    let err = '';
    const waiters: [(e: Record<string, unknown>) => boolean, () => void][] = [];
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          for (const [pred, fn] of waiters) if (pred(e)) fn();
        } catch {
          /* not JSON */
        }
      }
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    void exited.then(() => clearTimeout(kill));
    return {
      events,
      exited,
      stderr: () => err,
      waitFor: (pred: (e: Record<string, unknown>) => boolean) =>
        new Promise<void>((res) => {
          if (events.some(pred)) res();
          else waiters.push([pred, res]);
          void exited.then(() => res());
        }),
    };
  };
  const recv = proc(['recv-file', '--out', out, ...common]);
  await recv.waitFor((e) => e.event === 'waiting-for-peer');
  const send = proc(['send-file', join(dir, 'one.bin'), ...common]);
  const [rc, sc] = await Promise.all([recv.exited, send.exited]);
  const setup = (events: Record<string, unknown>[]) => events.find((e) => e.event === 'connected') as { setupMs?: number; path?: string } | undefined;
  const o = setup(send.events);
  const a = setup(recv.events);
  if (rc !== 0 || sc !== 0 || !o || !a) {
    return { error: `exit ${sc}/${rc}: ${(send.stderr() + recv.stderr()).replace(/\s+/g, ' ').slice(0, 160)}` };
  }
  return { offerer: o.setupMs, answerer: a.setupMs, path: o.path };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-connect-'));
  writeFileSync(join(dir, 'one.bin'), 'x');
  const sig = await startSignalingServer({ port: 0, host: '127.0.0.1' });
  const turn = await startCoturn({ tls: false });
  const forwarders: UdpForwarder[] = [];
  const far = await udpDelay({ host: '127.0.0.1', port: turn.port }, RTT / 2);
  const dead = await udpBlackhole();
  forwarders.push(far, dead);
  const creds = ['--ice-username', turn.username, '--ice-credential', turn.password];
  const configs: Config[] = [
    { name: 'host', what: 'no ICE server (host candidates)', args: [] },
    { name: 'stun', what: 'STUN (coturn, loopback)', args: ['--ice-server', `stun:127.0.0.1:${turn.port}`] },
    { name: 'turn', what: 'TURN (coturn, loopback), direct path wins', args: ['--ice-server', `turn:127.0.0.1:${turn.port}`, ...creds] },
    { name: 'turn-relay', what: 'TURN (coturn, loopback), --relay-only', args: ['--ice-server', `turn:127.0.0.1:${turn.port}`, ...creds, '--relay-only'] },
    { name: `stun-${RTT}ms`, what: `STUN ${RTT} ms RTT away`, args: ['--ice-server', `stun:127.0.0.1:${far.port}`] },
    { name: `turn-${RTT}ms`, what: `TURN ${RTT} ms RTT away, direct path wins`, args: ['--ice-server', `turn:127.0.0.1:${far.port}`, ...creds] },
    { name: `turn-relay-${RTT}ms`, what: `TURN ${RTT} ms RTT away, --relay-only`, args: ['--ice-server', `turn:127.0.0.1:${far.port}`, ...creds, '--relay-only'] },
    { name: 'stun-unreachable', what: 'STUN configured but unreachable (no answer)', args: ['--ice-server', `stun:127.0.0.1:${dead.port}`] },
  ].filter((c) => !values.only || values.only.split(',').includes(c.name));
  const samples = new Map<string, Sample[]>();
  let n = 0;
  const load = startLoadMonitor();
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const cfg of configs) {
        for (const b of BINS) {
          const s = await once(b.path, sig.signalUrl, cfg, dir, n++);
          const key = `${cfg.name}|${b.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          process.stderr.write(`${cfg.name} ${b.name} run ${r + 1}: ${s.error ?? `offerer ${s.offerer} ms, answerer ${s.answerer} ms, ${s.path}`}\n`);
        }
      }
    }
  } finally {
    for (const f of forwarders) f.close();
    await turn.stop();
    await sig.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report(configs, samples, load.stop());
}

function report(configs: Config[], samples: Map<string, Sample[]>, load: LoadSummary): void {
  const ok = (cfg: Config, bin: string): Sample[] => (samples.get(`${cfg.name}|${bin}`) ?? []).filter((x) => x.offerer !== undefined);
  const offerer = (cfg: Config, bin: string): number => median(ok(cfg, bin).map((x) => x.offerer!));
  const rows = configs.map((cfg) => {
    const cells: string[] = [];
    for (const b of BINS) {
      const all = samples.get(`${cfg.name}|${b.name}`) ?? [];
      const o = ok(cfg, b.name).map((x) => x.offerer!);
      const failed = all.length - o.length;
      cells.push(o.length ? `${fmt(median(o))} (${fmt(Math.min(...o))}–${fmt(Math.max(...o))})${failed ? `, ${failed} failed` : ''}` : `all ${all.length} failed`);
    }
    const answerer = BINS.map((b) => fmt(median(ok(cfg, b.name).map((x) => x.answerer!))));
    const path = BINS.map((b) => ok(cfg, b.name)[0]?.path).find(Boolean) ?? '';
    return [cfg.what, ...cells, ...answerer, path];
  });
  const lines = [
    '',
    '### Connection setup: time to connected with STUN/TURN configured',
    '',
    machineHeader(machineInfo({ packages: ['werift'], tools: { coturn: ['turnserver', '--version'] } })),
    '',
    `Command: \`${commandLine()}\` (after \`npm run build\`; a \`--bin\` other than this checkout's is named in the table).`,
    '',
    '`rtc-cli recv-file` waits in a room, `rtc-cli send-file` joins and offers; both on 127.0.0.1 (`--ice-address`) with the',
    `same ICE flags, ${RUNS} runs per cell, the builds interleaved. Offerer = offer created → connected (its`,
    '`connected.setupMs`); answerer = offer received → connected. Times in ms, median (min–max).',
    `"${RTT} ms away" relays the server's UDP through bench/connect/udp-delay.ts; "unreachable" never answers.`,
    '',
    mdTable(
      ['configuration', ...BINS.map((b) => `${b.name}: offerer`), ...BINS.map((b) => `${b.name}: answerer`), 'path'],
      rows,
      ['l', ...BINS.map(() => 'r' as const), ...BINS.map(() => 'r' as const), 'l'],
    ),
  ];
  if (BINS.length === 2) {
    const [a, b] = [BINS[0]!.name, BINS[1]!.name];
    const diff = configs.map((c) => {
      const x = offerer(c, a);
      const y = offerer(c, b);
      if (Number.isNaN(x) || Number.isNaN(y)) return `${c.name} n/a`;
      return `${c.name} ${y > x ? '+' : '−'}${fmt(Math.abs(y - x))} ms (${y > x ? '+' : '−'}${fmt(Math.abs(((y - x) / x) * 100))} %)`;
    });
    lines.push('', `${b} − ${a}, offerer medians: ${diff.join('; ')}.`);
  }
  if (BINS.some((b) => b.name === 'trickle')) {
    lines.push(
      '',
      '`trickle` is this checkout with bench/connect/trickle.patch applied (`bash bench/connect/build-trickle.sh` builds it',
      "aside): the description goes out as soon as werift has set it and found its first candidate, the other candidates",
      "and an end-of-candidates marker follow as `candidate` payloads. Without it, werift's `setLocalDescription()` resolves",
      'only when ICE gathering is complete, so each side sends its description after its own gathering (the SDP carries',
      "every candidate and `a=end-of-candidates`), one side after the other. werift's answerer starts its own checks only",
      'when its gathering is done, so with trickle the answer side still waits for its servers.',
    );
  }
  const errors = [...samples.entries()].flatMap(([k, s]) => s.filter((x) => x.error).map((x) => `${k}: ${x.error}`));
  if (errors.length) lines.push('', 'Failures:', '', ...errors.map((e) => `- ${e}`));
  lines.push('', formatLoad(load));
  const section = lines.join('\n') + '\n';
  process.stdout.write(section);
  if (values.write) {
    writeResultsSection('<!-- bench:connect -->', section);
    process.stderr.write('bench/RESULTS.md updated\n');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/connect failed: ${String(e)}\n`);
  process.exit(1);
});
