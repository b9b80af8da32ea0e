/**
 * The code-mode payloads relayed between the two peers (docs/peer-auth.md §Wire messages). Every byte string is
 * base64url without padding (RFC 4648 §5). Validators never throw: input comes from the network.
 */
import { SPAKE2_SUITE } from './spake2.js';

export const AUTH_VERSION = 1;

/** joiner → creator: SPAKE2 pA (65-byte uncompressed P-256 point). */
export interface AuthHello {
  kind: 'auth-hello';
  v: number;
  suite: string;
  pA: string;
}
/** creator → joiner: SPAKE2 pB and the creator's confirmation cB (32-byte HMAC). */
export interface AuthReply {
  kind: 'auth-reply';
  pB: string;
  cB: string;
}
/** joiner → creator: the joiner's confirmation cA, sent only after cB verified. */
export interface AuthConfirm {
  kind: 'auth-confirm';
  cA: string;
}
/**
 * Either way: stop, and why. "confirmation": the peer's confirmation did not verify (the codes differ); "protocol": a
 * malformed or unsupported message; "tampered" (sealed, after the exchange): something altered the signaling or sits
 * in the middle of DTLS.
 */
export interface AuthFail {
  kind: 'auth-fail';
  reason: 'confirmation' | 'protocol' | 'tampered' | string;
}
/** Sealed, after DTLS is up: RFC 5705 exporter values of our DTLS transports, or null (a peer that cannot read them). */
export interface DtlsBinding {
  kind: 'dtls-binding';
  exporters: string[] | null;
}

export type AuthMessage = AuthHello | AuthReply | AuthConfirm | AuthFail;

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Decode base64url of exactly `bytes` bytes, or undefined. */
export function fromB64(s: unknown, bytes: number): Uint8Array | undefined {
  if (typeof s !== 'string' || !B64URL.test(s) || s.length !== Math.ceil((bytes * 4) / 3)) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.length === bytes ? new Uint8Array(b) : undefined;
}

export function toB64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

function isObject(d: unknown): d is Record<string, unknown> {
  return typeof d === 'object' && d !== null && !Array.isArray(d);
}

/** One of the four exchange messages, shape-checked (field contents are checked where they are used). */
export function isAuthMessage(d: unknown): d is AuthMessage {
  if (!isObject(d)) return false;
  switch (d.kind) {
    case 'auth-hello':
      return typeof d.v === 'number' && typeof d.suite === 'string' && typeof d.pA === 'string';
    case 'auth-reply':
      return typeof d.pB === 'string' && typeof d.cB === 'string';
    case 'auth-confirm':
      return typeof d.cA === 'string';
    case 'auth-fail':
      return typeof d.reason === 'string';
    default:
      return false;
  }
}

export function isDtlsBinding(d: unknown): d is DtlsBinding {
  if (!isObject(d) || d.kind !== 'dtls-binding') return false;
  return d.exporters === null || (Array.isArray(d.exporters) && d.exporters.length <= 16 && d.exporters.every((e) => typeof e === 'string' && e.length <= 128));
}

/** The hello this implementation speaks. */
export function supportedHello(h: AuthHello): boolean {
  return h.v === AUTH_VERSION && h.suite === SPAKE2_SUITE;
}
