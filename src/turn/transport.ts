/**
 * The three ways to reach a TURN server (RFC 8656 §3.1): UDP (./udp-transport.ts), TCP and TLS-over-TCP
 * (./stream-transport.ts). Each gives the TURN client the same face: run a request/response transaction, send a raw
 * indication or ChannelData message, and hand every other message from the server (Data indications, ChannelData)
 * to `onIncoming`.
 *
 * TCP/TLS: no RFC 4571 length prefix. STUN messages and ChannelData messages are self-delimiting on the stream
 * (RFC 8656 §12.5): a STUN message is 20 + Length bytes, a ChannelData message is 4 + Length bytes padded up to a
 * multiple of 4 over TCP. The first two bits tell them apart (RFC 7983: 0b00 STUN, 0b01 ChannelData, channel
 * numbers 0x4000-0x4FFF).
 */
import type { Endpoint } from '../stun/endpoint.js';
import { BadMessageError, type ProtocolError, type TransportKind } from '../stun/errors.js';
import { MAGIC_COOKIE, type StunMessage } from '../stun/message.js';

export type TurnTransportKind = TransportKind;

export interface TransactionResult {
  response: StunMessage;
  raw: Buffer;
  rttMs: number;
}

export interface TurnTransport {
  readonly kind: TurnTransportKind;
  readonly server: Endpoint;
  /** Our end of the 5-tuple (RFC 8656 §2). */
  readonly local: Endpoint;
  /** Run one request transaction; with `integrityKey` the request gets MESSAGE-INTEGRITY and the response must too. */
  request(msg: StunMessage, opts: { integrityKey?: Buffer; timeoutMs: number; signal?: AbortSignal }): Promise<TransactionResult>;
  /** Send bytes as they are (an encoded indication, or ChannelData already padded for the stream). */
  sendRaw(data: Buffer): void;
  /** Every server message that is not a response to one of our requests. */
  onIncoming: (data: Buffer) => void;
  /** Set once the transport died (stream closed or errored): later requests fail with it. */
  readonly failure?: ProtocolError;
  close(): void;
}

/** First two bits 0b01: a ChannelData message (RFC 8656 §12.4; channel numbers 0x4000-0x4FFF). */
export function isChannelData(data: Buffer): boolean {
  return data.length >= 4 && (data[0]! & 0xc0) === 0x40;
}

/** Pad a ChannelData message to a multiple of 4 bytes for a stream transport (RFC 8656 §12.5). */
export function padForStream(data: Buffer): Buffer {
  const pad = (4 - (data.length % 4)) % 4;
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)]);
}

/**
 * Splits a TURN byte stream into messages (RFC 8656 §12.5). `push` returns the complete messages so far; a frame
 * that is neither STUN nor ChannelData means the stream is not TURN (or is out of sync) and throws BadMessageError.
 */
export class TurnStreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const total = this.nextFrameLength();
      if (total === undefined || this.buf.length < total) break;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }

  /** Length of the frame at the start of the buffer, undefined when not enough bytes have arrived to tell. */
  private nextFrameLength(): number | undefined {
    if (this.buf.length < 4) return undefined;
    const top = this.buf[0]! & 0xc0;
    if (top === 0x00) {
      if (this.buf.length < 8) return undefined;
      // RFC 8489 §5: the magic cookie must follow the length; without it this is not STUN (a TLS record, say).
      if (this.buf.readUInt32BE(4) !== MAGIC_COOKIE) throw this.notTurn();
      return 20 + this.buf.readUInt16BE(2);
    }
    if (top === 0x40 && this.buf.readUInt16BE(0) <= 0x4fff) {
      const len = this.buf.readUInt16BE(2);
      // RFC 8656 §12.5: over TCP the ChannelData message is padded to a multiple of 4 bytes.
      return 4 + len + ((4 - (len % 4)) % 4);
    }
    // Channel numbers 0x5000-0x7FFF are reserved (RFC 8656 §12); first bits 0b10/0b11 are RTP/DTLS, never TURN.
    throw this.notTurn();
  }

  private notTurn(): BadMessageError {
    const first = this.buf.subarray(0, 8).toString('hex');
    this.buf = Buffer.alloc(0);
    return new BadMessageError(`the server sent bytes that are neither STUN nor ChannelData (starting ${first}): not a TURN server, or the stream lost sync`);
  }
}
