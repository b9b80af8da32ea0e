/**
 * Manual negotiation (docs/peer-signaling.md §Manual mode): no server, no trickle. The offerer prints its complete
 * offer (after gathering) as one line and reads the answer line; the answerer reads the offer line and prints its
 * answer line. The user carries the lines over a channel of their own choosing, which is what authenticates them.
 */
import { RtcError } from '../../errors.js';
import { encodeManualLine, linesOf, readManualLine } from '../manual-signal.js';
import { filterSdpCandidates } from '../peer-connection.js';
import type { EnginePeer } from '../engine/types.js';
import type { SessionAttempt } from './attempt.js';
import type { ManualOptions, PeerRole, PeerSession } from './types.js';

/** How long we wait for ICE gathering to complete before printing a manual offer/answer anyway. */
const MANUAL_GATHER_TIMEOUT_MS = 10_000;

export async function negotiateManual(a: SessionAttempt): Promise<PeerSession> {
  const manual = a.opts.manual;
  if (!manual) throw new RtcError('RTC_ERR_USAGE', 'manual signaling needs an input and an output (internal wiring)');
  if (a.opts.auth) throw new RtcError('RTC_ERR_USAGE', 'a code cannot be used with manual signaling: the pasted lines are the authentication');
  const role = manual.role ?? 'offerer';
  const peer = await a.createPeer(role, false);
  a.setupStart = Date.now();
  await a.race(exchange(a, peer, manual, role));
  return a.connected(role);
}

/** Not raced itself: on a timeout the read is abandoned, and the input is closed when it ends or yields a line. */
async function exchange(a: SessionAttempt, peer: EnginePeer, manual: ManualOptions, role: PeerRole): Promise<void> {
  const lines = linesOf(manual.input)[Symbol.asyncIterator]();
  try {
    await new ManualExchange(a, peer, manual, lines).run(role);
  } finally {
    // Stop reading stdin (closes the readline interface) so it does not keep the process alive.
    await lines.return?.(undefined);
  }
}

class ManualExchange {
  constructor(
    private readonly a: SessionAttempt,
    private readonly peer: EnginePeer,
    private readonly manual: ManualOptions,
    private readonly lines: AsyncIterator<string>,
  ) {}

  run(role: PeerRole): Promise<void> {
    return role === 'offerer' ? this.offer() : this.answer();
  }

  private async localLine(type: 'offer' | 'answer'): Promise<string> {
    await this.peer.gatheringComplete(MANUAL_GATHER_TIMEOUT_MS);
    const sdp = filterSdpCandidates(this.peer.localSdp(), this.a.opts.ice.iceAddress);
    return encodeManualLine({ type, sdp });
  }

  private async offer(): Promise<void> {
    await this.peer.createOffer();
    const line = await this.localLine('offer');
    this.manual.output(line);
    this.a.emit({ type: 'manual-offer', line });
    this.a.emit({ type: 'manual-waiting', expect: 'answer' });
    const answer = await readManualLine(this.lines, 'answer');
    this.a.peerSeen();
    this.a.emit({ type: 'connecting', role: 'offerer' });
    await this.peer.applyRemote('answer', answer.sdp);
  }

  private async answer(): Promise<void> {
    this.a.emit({ type: 'manual-waiting', expect: 'offer' });
    const offer = await readManualLine(this.lines, 'offer');
    this.a.peerSeen();
    this.a.emit({ type: 'connecting', role: 'answerer' });
    await this.peer.applyRemote('offer', offer.sdp);
    await this.peer.createAnswer();
    const line = await this.localLine('answer');
    this.manual.output(line);
    this.a.emit({ type: 'manual-answer', line });
  }
}
