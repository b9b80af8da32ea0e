/**
 * One transfer between two werift peers (test/helpers/sctp-peer.ts, each its own process) through an impairing UDP
 * relay on 127.0.0.1 (test/helpers/udp-impair.ts), for test/rtc/werift-patches.sctp.test.ts and
 * werift-patches.loss.test.ts. The sender (A) makes the offer, so it is the ICE-controlling side: werift makes it the
 * SCTP client (it sends INIT) and, answering with a=setup:active, the DTLS server; the receiver (B) is the DTLS client.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { candidatePort, rewriteCandidatePort, startImpairingRelay, type Impairment, type ImpairingRelay } from './udp-impair.js';

const PEER = fileURLToPath(new URL('./sctp-peer.ts', import.meta.url));

export interface SendResult {
  role: 'send';
  bytes: number;
  messages: number;
  sha256: string;
  receiverSha256: string;
  finalTsn: number;
  /** The receive window the receiver advertised at association setup (patch 011: 2 MiB). */
  peerRwndAtOpen: number;
}
export interface RecvResult {
  role: 'recv';
  bytes: number;
  messages: number;
  outOfOrder: number;
  sha256: string;
  cumTsnAtOpen: number;
  cumTsnAtEnd: number;
  misorderedAtEnd: number;
  dataChunks: number;
  iBit: number;
  sacks: number;
  immediateSacks: number;
}

export interface TransferOptions {
  initialTsn?: number;
  sizes?: string;
  /** Give up (kill both peers, reject) when both results are not in after this long. */
  deadlineMs?: number;
}

export interface Transfer {
  send: SendResult;
  recv: RecvResult;
  relay: ImpairingRelay;
  /** From spawning the peers to both results. */
  elapsedMs: number;
}

interface Peer {
  child: ChildProcessWithoutNullStreams;
  lines: AsyncIterable<string>;
  stderr: () => string;
}

function peer(role: 'send' | 'recv', args: string[]): Peer {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, '--role', role, ...args], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, lines: createInterface({ input: child.stdout }), stderr: () => stderr };
}

/** Run one transfer through a new relay; resolves with both results (or rejects with both peers' stderr). */
export async function transfer(impairment: Impairment, bytes: number, o: TransferOptions = {}): Promise<Transfer> {
  const relay = await startImpairingRelay(impairment);
  const t0 = performance.now();
  const common = ['--bytes', String(bytes), '--seed', String(impairment.seed)];
  const sender = [...common, ...(o.initialTsn === undefined ? [] : ['--initial-tsn', String(o.initialTsn)]), ...(o.sizes ? ['--sizes', o.sizes] : [])];
  const a = peer('send', sender);
  const b = peer('recv', common);
  const results: { send?: SendResult; recv?: RecvResult } = {};
  // Offer from A goes to B with A's candidate replaced by relay.portForB (and the answer the other way round).
  const pump = async (from: Peer, to: Peer, side: 'a' | 'b'): Promise<void> => {
    for await (const line of from.lines) {
      const msg = JSON.parse(line) as { sig?: { type: string; sdp: string }; result?: SendResult | RecvResult };
      if (msg.sig) {
        relay.setPeer(side, candidatePort(msg.sig.sdp));
        const sdp = rewriteCandidatePort(msg.sig.sdp, side === 'a' ? relay.portForB : relay.portForA);
        to.child.stdin.write(JSON.stringify({ sig: { ...msg.sig, sdp } }) + '\n');
      } else if (msg.result) {
        if ('error' in msg.result) throw new Error(`${side}: ${String((msg.result as { error: string }).error)}`);
        if (msg.result.role === 'send') results.send = msg.result;
        else results.recv = msg.result;
      }
    }
  };
  const exited = (p: Peer): Promise<void> => new Promise((resolve) => p.child.on('close', () => resolve()));
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (o.deadlineMs === undefined) return;
    deadline = setTimeout(() => reject(new Error(`no result within ${o.deadlineMs} ms (the transfer stalled)`)), o.deadlineMs);
  });
  try {
    await Promise.race([Promise.all([pump(a, b, 'a'), pump(b, a, 'b'), exited(a), exited(b)]), timedOut]);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nsender stderr:\n${a.stderr()}\nreceiver stderr:\n${b.stderr()}`);
  } finally {
    clearTimeout(deadline);
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await relay.close();
  }
  if (!results.send || !results.recv) {
    throw new Error(`a peer ended without a result\nsender stderr:\n${a.stderr()}\nreceiver stderr:\n${b.stderr()}`);
  }
  return { send: results.send, recv: results.recv, relay, elapsedMs: performance.now() - t0 };
}
