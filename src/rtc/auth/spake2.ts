/**
 * SPAKE2 (RFC 9382), ciphersuite SPAKE2-P256-SHA256-HKDF-HMAC, with the RFC's key confirmation. Pure: no I/O, no
 * Node-only API (the companion page runs the same steps with the same noble libraries).
 *
 *   A (goes first, uses M)                      B (uses N)
 *   x ← [0,p), pA = w·M + x·P        ── pA ──▶
 *                                    ◀── pB ──   y ← [0,p), pB = w·N + y·P
 *   K = h·x·(pB − w·N)                           K = h·y·(pA − w·M)
 *   TT = len(A)‖A‖len(B)‖B‖len(pA)‖pA‖len(pB)‖pB‖len(K)‖K‖len(w)‖w          (RFC 9382 §3.3)
 *   Ke‖Ka = SHA-256(TT);  KcA‖KcB = HKDF(Ka, nil, "ConfirmationKeys"‖AAD, 32)  (§4)
 *   cA = HMAC(KcA, TT) ──▶ ;  ◀── cB = HMAC(KcB, TT)                          (§3.3, §4)
 *
 * Points travel as uncompressed SEC1 (65 bytes, §6: "all others use the uncompressed SEC1 encoding"); w is encoded
 * big-endian padded to the length of p (32 bytes). The cofactor h of P-256 is 1. A received point that is not on the
 * curve, or that makes K the identity, aborts the protocol (§7: "An endpoint MUST abort the protocol if any received
 * public value is not a member of G"). Scalars are drawn by rejection sampling (§7 recommends it).
 *
 * Checked against RFC 9382 Appendix B verbatim (test/rtc/auth/spake2.test.ts).
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { randomBytes } from '@noble/hashes/utils.js';

export const SPAKE2_SUITE = 'SPAKE2-P256-SHA256-HKDF-HMAC';

const Point = p256.Point;
type P256Point = InstanceType<typeof Point>;
/** The prime order p of the P-256 group (RFC 9382 calls it p; SEC 1 calls it n). */
export const P256_ORDER: bigint = p256.CURVE.n;

/** RFC 9382 §6, for P-256 (compressed SEC1; seed "1.2.840.10045.3.1.7 point generation seed (M)" / "(N)"). */
const M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
const N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');

export type Spake2Role = 'A' | 'B';

/** Why the exchange was aborted; the caller maps it to RTC_ERR_PEER_AUTH. */
export class Spake2Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Spake2Error';
  }
}

export interface Spake2Options {
  /** Identity of A and of B (RFC 9382 §3.3: absent identities are empty strings). */
  idA: Uint8Array;
  idB: Uint8Array;
  /** Additional authenticated data mixed into the confirmation keys (§4). Default empty. */
  aad?: Uint8Array;
  /** Test vectors only: use this scalar instead of a random one (x for A, y for B). Never reuse a scalar. */
  scalar?: bigint;
}

export interface Spake2Result {
  /** The shared secret Ke (16 bytes): the only output meant for use beyond this exchange. */
  ke: Uint8Array;
  /** Our confirmation MAC, to send (cA for A, cB for B). */
  confirmation: Uint8Array;
  /** True when `peerConfirmation` is the MAC the peer must send (compared in constant time). */
  verifyPeer(peerConfirmation: Uint8Array): boolean;
  /** The intermediate values, for test vectors and docs. Keep them out of logs. */
  debug: { K: Uint8Array; TT: Uint8Array; ka: Uint8Array; kcA: Uint8Array; kcB: Uint8Array; cA: Uint8Array; cB: Uint8Array };
}

/** len(x) of RFC 9382 §3.1: the byte length as an 8-byte little-endian number. */
function len(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(b.length), true);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** w as a 32-byte big-endian number (RFC 9382 §3.3: "padded to the length of p"). */
function scalarBytes(v: bigint): Uint8Array {
  const hex = v.toString(16).padStart(64, '0');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/** A uniform scalar in [1, p) by rejection sampling (RFC 9382 §7). Zero is excluded: it would reveal w·M. */
export function randomScalar(): bigint {
  for (;;) {
    const v = bytesToBigInt(randomBytes(32));
    if (v > 0n && v < P256_ORDER) return v;
  }
}

/** Constant-time equality of two byte strings of public length. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function decodePoint(bytes: Uint8Array): P256Point {
  let pt: P256Point;
  try {
    pt = Point.fromBytes(bytes);
    pt.assertValidity();
  } catch {
    throw new Spake2Error('the peer sent a value that is not a point of P-256');
  }
  if (pt.is0()) throw new Spake2Error('the peer sent the identity point');
  return pt;
}

/** One side of one SPAKE2 exchange. Create a new one for every attempt: scalars must never be reused (§7). */
export class Spake2 {
  /** Our public share (pA for A, pB for B), uncompressed SEC1, 65 bytes. */
  readonly share: Uint8Array;
  private readonly secret: bigint;
  private finished = false;

  constructor(
    readonly role: Spake2Role,
    private readonly w: bigint,
    private readonly opts: Spake2Options,
  ) {
    if (w <= 0n || w >= P256_ORDER) throw new Spake2Error('the password scalar w must be in [1, p)');
    this.secret = opts.scalar ?? randomScalar();
    if (this.secret <= 0n || this.secret >= P256_ORDER) throw new Spake2Error('the ephemeral scalar must be in [1, p)');
    const blind = (role === 'A' ? M : N).multiply(w);
    this.share = Point.BASE.multiply(this.secret).add(blind).toBytes(false);
  }

  /** Compute K, the transcript and the keys from the peer's share. Throws Spake2Error on an invalid share. */
  finish(peerShare: Uint8Array): Spake2Result {
    if (this.finished) throw new Spake2Error('this SPAKE2 state was already used');
    this.finished = true;
    const peer = decodePoint(peerShare);
    const unblind = (this.role === 'A' ? N : M).multiply(this.w);
    const Kpoint = peer.subtract(unblind).multiply(this.secret); // h = 1 for P-256
    if (Kpoint.is0()) throw new Spake2Error('the shared point K is the identity');
    const K = Kpoint.toBytes(false);
    const pA = this.role === 'A' ? this.share : peerShare;
    const pB = this.role === 'A' ? peerShare : this.share;
    const wBytes = scalarBytes(this.w);
    const { idA, idB } = this.opts;
    const TT = concat(len(idA), idA, len(idB), idB, len(pA), pA, len(pB), pB, len(K), K, len(wBytes), wBytes);
    const digest = sha256(TT);
    const ke = digest.slice(0, 16);
    const ka = digest.slice(16, 32);
    const info = concat(new TextEncoder().encode('ConfirmationKeys'), this.opts.aad ?? new Uint8Array(0));
    const kc = hkdf(sha256, ka, undefined, info, 32);
    const kcA = kc.slice(0, 16);
    const kcB = kc.slice(16, 32);
    const cA = hmac(sha256, kcA, TT);
    const cB = hmac(sha256, kcB, TT);
    const mine = this.role === 'A' ? cA : cB;
    const theirs = this.role === 'A' ? cB : cA;
    return {
      ke,
      confirmation: mine,
      verifyPeer: (c) => equalBytes(c, theirs),
      debug: { K, TT, ka, kcA, kcB, cA, cB },
    };
  }
}
