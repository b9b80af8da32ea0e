/**
 * The only part of the file transfer that touches the data channel engine (werift today). Everything above it sees a
 * `FileChannel`: send text or bytes, read messages and state changes, and watch the send buffer. Putting another engine
 * (e.g. node-datachannel) behind the transfer means writing one more `FileChannel` adapter here.
 *
 * Channel parameters (docs/file-transfer-protocol.md §Channel): a negotiated channel (RFC 8832 DCEP is not used, so it
 * does not matter who offers), reliable and ordered (RFC 8831 §6.6), which is why file bytes need no framing.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { FILE_CHANNEL_ID, FILE_CHANNEL_LABEL } from '../file-transfer-protocol.js';

/** Keep bufferedAmount under this: werift slows down above ~512 KiB and starves its event loop at a few MiB. */
export const HIGH_WATER = 512 * 1024;
/** Resume sending when bufferedAmount drops below this. */
export const LOW_WATER = 256 * 1024;
/** How long to wait for the data channel to open once the peer connection is up. */
const CHANNEL_OPEN_TIMEOUT_MS = 15_000;

export type ChannelState = 'connecting' | 'open' | 'closing' | 'closed';

/** What the transfer needs from a data channel. */
export interface FileChannel {
  readonly readyState: ChannelState;
  /** Bytes queued for sending and not yet handed to the network. */
  readonly bufferedAmount: number;
  send(data: string | Buffer): void;
  onMessage(fn: (m: string | Buffer) => void): void;
  onState(fn: (s: ChannelState) => void): () => void;
  /** Call `fn` when bufferedAmount falls under LOW_WATER. Returns the unsubscribe function. */
  onBufferedLow(fn: () => void): () => void;
}

class WeriftFileChannel implements FileChannel {
  constructor(private readonly dc: RTCDataChannel) {
    dc.bufferedAmountLowThreshold = LOW_WATER;
  }
  get readyState(): ChannelState {
    return this.dc.readyState;
  }
  get bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }
  send(data: string | Buffer): void {
    this.dc.send(data);
  }
  onMessage(fn: (m: string | Buffer) => void): void {
    this.dc.onMessage.subscribe(fn);
  }
  onState(fn: (s: ChannelState) => void): () => void {
    const sub = this.dc.stateChanged.subscribe(fn);
    return () => sub.unSubscribe();
  }
  onBufferedLow(fn: () => void): () => void {
    // werift has no onbufferedamountlow property: its Event is the way in.
    const sub = this.dc.bufferedAmountLow.subscribe(fn);
    return () => sub.unSubscribe();
  }
}

/** Create the transfer channel on a werift peer connection (before negotiation, on both sides). */
export function createFileChannel(pc: RTCPeerConnection): FileChannel {
  return new WeriftFileChannel(pc.createDataChannel(FILE_CHANNEL_LABEL, { negotiated: true, id: FILE_CHANNEL_ID, ordered: true }));
}

/** Wait (bounded) until the channel is open, or `failure` rejects. */
export function channelOpen(ch: FileChannel, failure: Promise<never>): Promise<void> {
  if (ch.readyState === 'open') return Promise.resolve();
  const d = deferred<void>();
  const unsubscribe = ch.onState((s) => {
    if (s === 'open') d.resolve();
  });
  const t = setTimeout(
    () => d.reject(new RtcError('RTC_ERR_ICE_FAILED', `the transfer channel did not open within ${CHANNEL_OPEN_TIMEOUT_MS / 1000} s`)),
    CHANNEL_OPEN_TIMEOUT_MS,
  );
  return Promise.race([d.promise, failure]).finally(() => {
    clearTimeout(t);
    unsubscribe();
  });
}
