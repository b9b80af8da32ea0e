/**
 * bench/netem/ceiling.ts: how much the netem relay can forward, so that a latency benchmark knows it measured the
 * peers and not the relay. A UDP blaster in namespace A sends 1,200-byte datagrams (the size of a DTLS-wrapped SCTP
 * packet at werift's MTU) to a counter in namespace B for a few seconds, at 0 ms RTT and no loss; the relay's CPU comes
 * from its own counters. The same blaster and counter on loopback without the relay give the generator's own ceiling.
 *
 *   sudo npx tsx bench/netem/ceiling.ts [--seconds 4] [--no-write]
 *
 * Writes the `<!-- bench:netem -->` section of bench/RESULTS.md unless --no-write.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { commandLine, fmt, formatLoad, machineHeader, machineInfo, startLoadMonitor, writeResultsSection } from '../lib/index.js';
import { createNetem } from './netem.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, 'no-write': { type: 'boolean', default: false } } });
const SECONDS = Number(values.seconds);
const SIZE = 1200;

/** The blaster and the counter, as one inline program (`--role send|recv`), run with plain node. */
const PROGRAM = `
const dgram = require('node:dgram');
const [role, local, peer, seconds, size] = process.argv.slice(1);
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
s.bind(40000, local, () => {
  if (role === 'recv') {
    let bytes = 0, packets = 0, first = 0, last = 0;
    s.on('message', (m) => { if (!first) first = performance.now(); last = performance.now(); bytes += m.length; packets++; });
    console.log('ready');
    setTimeout(() => { console.log(JSON.stringify({ packets, bytes, seconds: (last - first) / 1000 })); process.exit(0); }, (Number(seconds) + 2) * 1000);
  } else {
    const buf = Buffer.alloc(Number(size), 7);
    const end = performance.now() + Number(seconds) * 1000;
    let sent = 0;
    const burst = () => {
      for (let i = 0; i < 64; i++) { s.send(buf, 40000, peer); sent++; }
      if (performance.now() < end) setImmediate(burst); else setTimeout(() => { console.log(JSON.stringify({ sent })); process.exit(0); }, 200);
    };
    burst();
  }
});`;

interface Recv {
  packets: number;
  bytes: number;
  seconds: number;
}

function node(prefix: string[], args: string[], onReady?: () => void): Promise<string> {
  const argv = [...prefix, process.execPath, '-e', PROGRAM, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastLine = '';
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l === 'ready') onReady?.();
    else lastLine = l;
  });
  return new Promise((resolve) => child.on('close', () => resolve(lastLine)));
}

async function blast(prefixA: string[], prefixB: string[], addrA: string, addrB: string): Promise<{ sent: number; recv: Recv }> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const recv = node(prefixB, ['recv', addrB, addrA, String(SECONDS), String(SIZE)], ready);
  await isReady;
  const sent = JSON.parse(await node(prefixA, ['send', addrA, addrB, String(SECONDS), String(SIZE)])) as { sent: number };
  return { sent: sent.sent, recv: JSON.parse(await recv) as Recv };
}

const info = machineInfo();
const monitor = startLoadMonitor();
const direct = await blast([], [], '127.0.0.1', '127.0.0.2');
const net = await createNetem({ rttMs: 0, lossPct: 0 });
const before = await net.stats();
const relayed = await blast(net.exec('a', []), net.exec('b', []), net.addrA, net.addrB);
const after = await net.stats();
await net.destroy();
const load = monitor.stop();

const relayCpu = after.cpuSeconds - before.cpuSeconds;
const forwarded = after.aToB.forwarded - before.aToB.forwarded;
const overflow = after.aToB.overflow - before.aToB.overflow;
const row = (name: string, r: { sent: number; recv: Recv }): string[] => [
  name,
  fmt(r.sent / SECONDS, 0),
  fmt(r.recv.packets / r.recv.seconds, 0),
  fmt(r.recv.bytes / 1e6 / r.recv.seconds, 1),
];
const table = [
  '| path | datagrams/s offered | datagrams/s received | MB/s received |',
  '|---|---:|---:|---:|',
  ...[row('loopback, no relay (the generator\'s own ceiling)', direct), row('through the netem relay, 0 ms, no loss', relayed)].map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const usPerPacket = (relayCpu / forwarded) * 1e6;
const prose = `The relay forwarded ${fmt(forwarded, 0)} datagrams using ${fmt(relayCpu, 2)} s of CPU: ${fmt(usPerPacket, 1)} µs per datagram, i.e. one core would carry about ${fmt(1e6 / usPerPacket, 0)} datagrams/s (${fmt((1e6 / usPerPacket) * SIZE / 1e6, 0)} MB/s of 1,200-byte packets); ${fmt(overflow, 0)} dropped for a full queue. Received through the relay: ${fmt(relayed.recv.bytes / 1e6 / relayed.recv.seconds, 1)} MB/s, ${fmt((relayed.recv.bytes / relayed.recv.seconds) / (direct.recv.bytes / direct.recv.seconds) * 100, 0)} % of what the same generator delivers on loopback without it.`;
const header = `${machineHeader(info)}. Command: \`${commandLine()}\`.\n${formatLoad(load)}`;
process.stdout.write(`${header}\n\n${table}\n\n${prose}\n`);
if (!values['no-write']) {
  writeResultsSection(
    '<!-- bench:netem -->',
    `### netem relay: how much it can forward

${header}

${SECONDS} s of ${SIZE}-byte UDP datagrams from a Node blaster (bursts of 64 per event-loop turn) to a Node counter, first on loopback, then
from namespace A to namespace B through bench/netem's relay (TUN devices, bench/netem/relay.c) at 0 ms RTT and no loss.

${table}

${prose}
`,
  );
  process.stderr.write('bench/RESULTS.md updated\n');
}
