/**
 * One side of a raw data-channel throughput run (no files, no hashing): the reference for send-file.
 *
 *   npx tsx bench/datachannel/peer.ts --impl werift|ndc --role send|recv --bytes N [--chunk 65536]
 *     [--werift <package dir>] [--address 127.0.0.1]
 *
 * --werift loads werift from another directory (the bench's unpatched copy); --address is the one local address to
 * gather on and advertise (a network namespace's address in the bench's latency runs).
 *
 * Signaling is over stdio, relayed by bench/datachannel/run.ts: every stdout line is JSON; `{"sig":...}` lines go to
 * the other peer's stdin, `{"progress":{bytes,seconds,cpuSeconds}}` comes every 500 ms once the channel is open (the
 * receiver's bytes received; the sender's bytes handed to the channel), `{"result":...}` is the outcome. Both sides
 * create a negotiated channel (id 1), as send-file does. The sender uses send-file's chunking and backpressure (64 KiB
 * messages, bufferedAmount kept under 512 KiB, resume below 256 KiB).
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bufferedBelow, stdioSignaling, type Sig } from '../../test/helpers/werift-peer.js';

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'werift' },
    role: { type: 'string', default: 'send' },
    bytes: { type: 'string', default: String(64 * 1024 * 1024) },
    chunk: { type: 'string', default: '65536' },
    werift: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
  },
});
const TOTAL = Number(values.bytes);
const CHUNK = Number(values.chunk);
const HIGH = 512 * 1024;
const LOW = 256 * 1024;
const sending = values.role === 'send';
const ADDRESS = values.address!;

const out = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
/**
 * Signaling from the other peer. Lines can arrive before the handler exists (this side may still be importing its
 * WebRTC stack while the other already sent its offer): they wait in `early` until `onSignal` registers the handler.
 */
let handler: ((m: Record<string, unknown>) => void) | undefined;
const early: Record<string, unknown>[] = [];
createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l) as Record<string, unknown>;
  if (handler) handler(m);
  else early.push(m);
});
function onSignal(f: (m: Record<string, unknown>) => void): void {
  handler = f;
  for (const m of early.splice(0)) f(m);
}

/** Bytes moved and CPU used since the channel opened; progress lines while running, one result at the end. */
class Meter {
  bytes = 0;
  private t0 = 0;
  private cpu0 = process.cpuUsage();
  /** The receiver must not exit before its "done" reached the sender: it waits for the sender to hang up (or 5 s). */
  exitDelayMs = 200;

  start(): void {
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
    setInterval(() => out({ progress: this.snapshot() }), 500).unref();
  }

  private snapshot(): { bytes: number; seconds: number; cpuSeconds: number } {
    const cpu = process.cpuUsage(this.cpu0);
    return { bytes: this.bytes, seconds: (performance.now() - this.t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  }

  finish(): void {
    const s = this.snapshot();
    out({ result: { role: values.role, ...s, bytes: TOTAL, MBps: TOTAL / 1e6 / s.seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 } });
    setTimeout(() => process.exit(0), this.exitDelayMs);
  }
}
const meter = new Meter();

const payload = Buffer.alloc(CHUNK, 0x5a);

async function runWerift(): Promise<void> {
  const { buildPeerConfig } = await import('../../src/rtc/peer-connection.js');
  const werift = (values.werift
    ? await import(pathToFileURL(join(values.werift, 'lib/index.mjs')).href)
    : await import('werift')) as typeof import('werift');
  const pc = new werift.RTCPeerConnection(buildPeerConfig({ iceServers: [], relayOnly: false, iceAddress: ADDRESS }));
  const dc = pc.createDataChannel('bench', { negotiated: true, id: 1, ordered: true });
  dc.bufferedAmountLowThreshold = LOW;
  const signaling = stdioSignaling(pc, out);
  onSignal((m) => {
    const sig = m.sig as Sig | undefined;
    if (sig) signaling.receive(sig);
  });
  if (sending) await signaling.offer();
  dc.stateChanged.subscribe((s) => {
    if (s !== 'open') return;
    meter.start();
    if (!sending) return;
    void (async () => {
      for (let sent = 0; sent < TOTAL; ) {
        const n = Math.min(CHUNK, TOTAL - sent);
        while (dc.bufferedAmount + n > HIGH) {
          await bufferedBelow(dc, LOW);
        }
        dc.send(n === CHUNK ? payload : payload.subarray(0, n));
        sent += n;
        meter.bytes = sent;
      }
    })();
  });
  dc.onMessage.subscribe((m) => {
    if (sending) {
      if (m === 'done') {
        meter.finish();
        dc.close();
      }
      return;
    }
    meter.bytes += (m as Buffer).length;
    if (meter.bytes >= TOTAL) {
      dc.send('done');
      meter.exitDelayMs = 5_000;
      dc.stateChanged.subscribe((st) => {
        if (st === 'closed' || st === 'closing') process.exit(0);
      });
      meter.finish();
    }
  });
}

async function runNdc(): Promise<void> {
  const ndc = (await import('node-datachannel')).default;
  // An experiment knob (run.ts prints such runs without recording them): libdatachannel's SCTP settings, process-wide.
  if (process.env.BENCH_NDC_SCTP) ndc.setSctpSettings(JSON.parse(process.env.BENCH_NDC_SCTP) as Parameters<typeof ndc.setSctpSettings>[0]);
  const pc = new ndc.PeerConnection(values.role!, { iceServers: [], bindAddress: ADDRESS, enableIceTcp: false, disableAutoNegotiation: true });
  const onOurAddress = (s: string): boolean => s.includes(` ${ADDRESS} `);
  pc.onLocalDescription((sdp, type) => {
    const filtered = sdp.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:') || onOurAddress(l)).join('\r\n');
    out({ sig: { type, sdp: filtered } });
  });
  pc.onLocalCandidate((candidate, mid) => {
    if (onOurAddress(candidate)) out({ sig: { candidate, mid } });
  });
  // libdatachannel answers ICE checks before it has the remote description; if the answerer's DTLS handshake then
  // reaches the offerer before the answer does, the offerer cannot check the fingerprint ("unknown CA") and fails.
  // So the offerer says when it has applied the answer, and the answerer adds the offerer's candidates (starting its
  // checks) only then.
  let answerApplied = sending;
  const pending: { candidate: string; mid: string }[] = [];
  onSignal((m) => {
    const sig = m.sig as { type?: string; sdp?: string; candidate?: string; mid?: string; answerApplied?: boolean } | undefined;
    if (!sig) return;
    if (sig.sdp) {
      pc.setRemoteDescription(sig.sdp, sig.type as 'offer' | 'answer');
      if (sig.type === 'offer') pc.setLocalDescription();
      else out({ sig: { answerApplied: true } });
    } else if (sig.answerApplied) {
      answerApplied = true;
      for (const c of pending.splice(0)) pc.addRemoteCandidate(c.candidate, c.mid);
    }
    // The peer advertises only its own one address (it filters like we do), so remote candidates need no filter.
    else if (sig.candidate && answerApplied) pc.addRemoteCandidate(sig.candidate, sig.mid ?? '0');
    else if (sig.candidate) pending.push({ candidate: sig.candidate, mid: sig.mid ?? '0' });
  });
  const dc = pc.createDataChannel('bench', { negotiated: true, id: 1 });
  dc.setBufferedAmountLowThreshold(LOW);
  let sent = 0;
  const pump = (): void => {
    while (sent < TOTAL && dc.bufferedAmount() + CHUNK <= HIGH) {
      const n = Math.min(CHUNK, TOTAL - sent);
      dc.sendMessageBinary(n === CHUNK ? payload : payload.subarray(0, n));
      sent += n;
      meter.bytes = sent;
    }
  };
  dc.onOpen(() => {
    meter.start();
    if (sending) pump();
  });
  dc.onBufferedAmountLow(() => {
    if (sending) pump();
  });
  dc.onMessage((m) => {
    if (sending) {
      if (m === 'done') {
        meter.finish();
        dc.close();
      }
      return;
    }
    meter.bytes += typeof m === 'string' ? m.length : (m as Buffer).byteLength;
    if (meter.bytes >= TOTAL) {
      dc.sendMessage('done');
      meter.exitDelayMs = 5_000;
      dc.onClosed(() => process.exit(0));
      meter.finish();
    }
  });
  if (sending) pc.setLocalDescription();
}

await (values.impl === 'ndc' ? runNdc() : runWerift());
