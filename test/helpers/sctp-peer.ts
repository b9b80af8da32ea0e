/**
 * One werift peer for test/helpers/sctp-transfer.ts (test/rtc/werift-patches.sctp and .loss tests), run as its own
 * process (`node --import tsx sctp-peer.ts`).
 *
 *   --role send|recv  --bytes N  --seed S  [--initial-tsn T]  [--sizes 65536,1,...]
 *
 * Signaling is over stdio: every stdout line is JSON; `{"sig":...}` lines go to the other peer's stdin (the test
 * rewrites the candidates so that every packet crosses its impairing relay), `{"result":...}` is the outcome.
 *
 * The sender sends messages of varying sizes (1 byte to 64 KiB: single-chunk and fragmented messages) on a negotiated,
 * ordered, reliable channel; each starts with its sequence number, the rest is an AES-CTR keystream derived from the
 * seed. Both sides hash the whole stream (SHA-256). --initial-tsn sets the sender's first SCTP TSN (RFC 9260 §5.1),
 * so a short transfer crosses the 2^32 wrap of the TSN space. The receiver reports what its SCTP association saw: the
 * cumulative TSN at open and at the end, and how many TSNs were still out of order.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { createPeerConnection } from '../../src/rtc/peer-connection.js';
import { bufferedBelow, stdioSignaling, type Sig } from './werift-peer.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'send' },
    bytes: { type: 'string', default: String(4 << 20) },
    seed: { type: 'string', default: '1' },
    'initial-tsn': { type: 'string' },
    sizes: { type: 'string' },
  },
});
const TOTAL = Number(values.bytes);
const sending = values.role === 'send';
const HIGH = 512 * 1024;
const LOW = 256 * 1024;
/** Message sizes, cycled (default: one byte, one DATA chunk, two, many fragments, the 64 KiB maximum). */
const SIZES = (values.sizes ?? '65536,1,1200,40000,1187,65535,3000,17,8192,64000').split(',').map(Number);

/** The SCTP association inside werift (not public API: read for the report, written only for --initial-tsn). */
interface SctpInternals {
  associationState: number;
  localTsn: number;
  lastSackedTsn: number;
  advancedPeerAckTsn: number;
  reconfigRequestSeq: number;
  lastReceivedTsn: number;
  /** The a_rwnd the peer's INIT or INIT-ACK carried, then its latest SACK's (RFC 9260 §3.3.2, §3.3.4). */
  peerAdvertisedRwnd: number;
  sackMisOrdered: Set<number>;
  sackImmediate: boolean;
  sendSack(): Promise<void>;
  receiveDataChunk(chunk: { flags: number }): void;
}

/** What the receiver's SCTP did, counted by wrapping two of its methods: DATA chunks in, SACKs out and why. */
const counts = { dataChunks: 0, iBit: 0, sacks: 0, immediateSacks: 0 };
function countSacks(sctp: SctpInternals): void {
  const sendSack = sctp.sendSack.bind(sctp);
  const receiveDataChunk = sctp.receiveDataChunk.bind(sctp);
  sctp.sendSack = () => {
    counts.sacks++;
    if (sctp.sackImmediate) counts.immediateSacks++;
    return sendSack();
  };
  sctp.receiveDataChunk = (chunk) => {
    counts.dataChunks++;
    if (chunk.flags & 8) counts.iBit++;
    receiveDataChunk(chunk);
  };
}

const out = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
const fail = (message: string): never => {
  out({ result: { role: values.role, error: message } });
  process.exit(1);
};
setTimeout(() => fail('no result within 100 s (a stalled transfer)'), 100_000).unref();

function sctpOf(pc: RTCPeerConnection): SctpInternals | undefined {
  return (pc as unknown as { sctpTransport?: { sctp?: SctpInternals } }).sctpTransport?.sctp;
}

/** Set the first TSN before the association starts (INIT/INIT-ACK carry it): poll until werift created it. */
async function setInitialTsn(pc: RTCPeerConnection, tsn: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const sctp = sctpOf(pc);
    if (sctp) {
      // 1 = CLOSED: no INIT sent or answered yet.
      if (sctp.associationState !== 1) fail('the SCTP association started before --initial-tsn could be set');
      sctp.localTsn = tsn;
      sctp.lastSackedTsn = (tsn - 1 + 2 ** 32) % 2 ** 32;
      sctp.advancedPeerAckTsn = sctp.lastSackedTsn;
      sctp.reconfigRequestSeq = tsn;
      return;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  fail('werift never created its SCTP association');
}

function keystream(seed: string): (n: number) => Buffer {
  const key = createHash('sha256').update(`sctp-lossy ${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

async function sendAll(dc: RTCDataChannel): Promise<{ messages: number; sha256: string }> {
  const next = keystream(values.seed!);
  const hash = createHash('sha256');
  let messages = 0;
  for (let sent = 0; sent < TOTAL; messages++) {
    const size = Math.min(SIZES[messages % SIZES.length]!, TOTAL - sent);
    const body = next(size);
    if (size >= 4) body.writeUInt32BE(messages, 0);
    while (dc.bufferedAmount + size > HIGH) {
      await bufferedBelow(dc, LOW);
    }
    hash.update(body);
    dc.send(body);
    sent += size;
  }
  dc.send('end');
  return { messages, sha256: hash.digest('hex') };
}

const pc = await createPeerConnection({ iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' });
const dc = pc.createDataChannel('sctp-lossy', { negotiated: true, id: 1, ordered: true });
dc.bufferedAmountLowThreshold = LOW;

const signaling = stdioSignaling(pc, out);
createInterface({ input: process.stdin }).on('line', (line) => {
  const sig = (JSON.parse(line) as { sig?: Sig }).sig;
  if (sig) signaling.receive(sig);
});

if (sending) {
  await signaling.offer();
  if (values['initial-tsn'] !== undefined) await setInitialTsn(pc, Number(values['initial-tsn']));
}

let cumTsnAtOpen: number | undefined;
let peerRwndAtOpen: number | undefined;
dc.stateChanged.subscribe((s) => {
  if (s !== 'open') return;
  cumTsnAtOpen = sctpOf(pc)?.lastReceivedTsn;
  // Before any DATA: still the window the peer's INIT/INIT-ACK advertised.
  peerRwndAtOpen = sctpOf(pc)?.peerAdvertisedRwnd;
  if (!sending) {
    countSacks(sctpOf(pc)!);
    return;
  }
  void sendAll(dc).then((sent) => {
    dc.onMessage.subscribe((m) => {
      if (typeof m !== 'string' || !m.startsWith('done ')) return;
      out({ result: { role: 'send', bytes: TOTAL, ...sent, receiverSha256: m.slice(5), finalTsn: sctpOf(pc)?.localTsn, peerRwndAtOpen } });
      setTimeout(() => process.exit(0), 200);
    });
  });
});

if (!sending) {
  const hash = createHash('sha256');
  let bytes = 0;
  let messages = 0;
  let outOfOrder = 0;
  dc.onMessage.subscribe((m) => {
    if (typeof m === 'string') {
      if (m !== 'end') return;
      const sha256 = hash.digest('hex');
      const sctp = sctpOf(pc);
      out({
        result: {
          role: 'recv',
          bytes,
          messages,
          outOfOrder,
          sha256,
          cumTsnAtOpen,
          cumTsnAtEnd: sctp?.lastReceivedTsn,
          misorderedAtEnd: sctp?.sackMisOrdered.size,
          ...counts,
        },
      });
      dc.send(`done ${sha256}`);
      // Exit once the sender got "done" and closed, or after 5 s.
      setTimeout(() => process.exit(0), 5_000).unref();
      pc.connectionStateChange.subscribe((st) => {
        if (st === 'closed' || st === 'failed' || st === 'disconnected') process.exit(0);
      });
      return;
    }
    if (m.length >= 4 && m.readUInt32BE(0) !== messages) outOfOrder++;
    hash.update(m);
    bytes += m.length;
    messages++;
  });
}
