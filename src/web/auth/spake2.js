// SPAKE2 (RFC 9382), suite SPAKE2-P256-SHA256-HKDF-HMAC, with its key confirmation, and the password scalar of a
// code: the page's side of docs/peer-auth.md §Key schedule, on the same noble libraries as the CLI
// (src/rtc/auth/spake2.ts, password.ts). Checked against the worked example of docs/peer-auth.md
// and against the CLI itself, in Chromium (test/web/files.system.test.ts).
//
//   A (joiner, uses M)  pA = w·M + x·P   ── pA ──▶            B (creator, uses N)  pB = w·N + y·P
//   K = x·(pB − w·N)                     ◀── pB, cB ──         K = y·(pA − w·M)
//   TT = len(A)‖A‖len(B)‖B‖len(pA)‖pA‖len(pB)‖pB‖len(K)‖K‖len(w)‖w                    (RFC 9382 §3.3)
//   Ke‖Ka = SHA-256(TT);  KcA‖KcB = HKDF(Ka, nil, "ConfirmationKeys"‖AAD, 32);  cX = HMAC(KcX, TT)   (§4)
import { hkdf, hmac, p256, scryptAsync, sha256 } from '../lib/vendor.js';

export const SPAKE2_SUITE = 'SPAKE2-P256-SHA256-HKDF-HMAC';
export const AUTH_VERSION = 1;
const enc = new TextEncoder();
/** RFC 9382 §3.3 identities and the §4 AAD of this protocol. */
export const PAKE_IDENTITIES = { idA: enc.encode('rtc-cli joiner'), idB: enc.encode('rtc-cli creator'), aad: enc.encode('rtc-cli peer-auth v1') };
/** scrypt (RFC 7914): N = 2^15, r = 8, p = 1 (32 MiB), 40 bytes (256 + 64 bits against the modulo bias, RFC 9382 §3.2). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, dkLen: 40 };
const SCRYPT_SALT = 'rtc-cli peer-auth v1';

const Point = p256.Point;
const ORDER = p256.CURVE.n;
/** RFC 9382 §6, for P-256. */
const M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
const N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');

/** Why the exchange was aborted (the CLI says RTC_ERR_PEER_AUTH). */
export class AuthError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AuthError';
    this.code = 'RTC_ERR_PEER_AUTH';
  }
}

export function bytesToBigInt(b) {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** len() of RFC 9382 §3.1: the length as 8 bytes, little-endian. */
function len(b) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(b.length), true);
  return out;
}

/** w as 32 bytes, big-endian ("padded to the length of p"). */
function scalarBytes(v) {
  const hex = v.toString(16).padStart(64, '0');
  return Uint8Array.from({ length: 32 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** Constant-time equality of byte strings of public length. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** A uniform scalar in [1, p) by rejection sampling (RFC 9382 §7). */
function randomScalar() {
  for (;;) {
    const v = bytesToBigInt(crypto.getRandomValues(new Uint8Array(32)));
    if (v > 0n && v < ORDER) return v;
  }
}

/** w = OS2IP(scrypt(code, "rtc-cli peer-auth v1", N = 2^15, r = 8, p = 1, 40)) mod p. */
export async function passwordScalar(code) {
  const out = await scryptAsync(enc.encode(code), enc.encode(SCRYPT_SALT), { ...SCRYPT, asyncTick: 20 });
  const w = bytesToBigInt(out) % ORDER;
  if (w === 0n) throw new AuthError('the code hashed to zero; pick another code');
  return w;
}

function decodePoint(bytes) {
  let pt;
  try {
    pt = Point.fromBytes(bytes);
    pt.assertValidity();
  } catch {
    throw new AuthError('the peer sent a value that is not a point of P-256');
  }
  if (pt.is0()) throw new AuthError('the peer sent the identity point');
  return pt;
}

/** One side of one exchange; a new one per attempt (scalars are never reused, §7). `scalar`: test vectors only. */
export class Spake2 {
  constructor(role, w, scalar = randomScalar()) {
    if (w <= 0n || w >= ORDER || scalar <= 0n || scalar >= ORDER) throw new AuthError('a SPAKE2 scalar is out of range');
    this.role = role;
    this.w = w;
    this.secret = scalar;
    this.share = Point.BASE.multiply(scalar).add((role === 'A' ? M : N).multiply(w)).toBytes(false);
  }

  /** Keys from the peer's share: {ke, confirmation (ours), verifyPeer(mac), debug}. Throws AuthError. */
  finish(peerShare) {
    if (this.done) throw new AuthError('this SPAKE2 state was already used');
    this.done = true;
    const peer = decodePoint(peerShare);
    const Kp = peer.subtract((this.role === 'A' ? N : M).multiply(this.w)).multiply(this.secret);
    if (Kp.is0()) throw new AuthError('the shared point K is the identity');
    const K = Kp.toBytes(false);
    const [pA, pB] = this.role === 'A' ? [this.share, peerShare] : [peerShare, this.share];
    const w = scalarBytes(this.w);
    const { idA, idB, aad } = PAKE_IDENTITIES;
    const TT = concat(len(idA), idA, len(idB), idB, len(pA), pA, len(pB), pB, len(K), K, len(w), w);
    const digest = sha256(TT);
    const kc = hkdf(sha256, digest.slice(16, 32), undefined, concat(enc.encode('ConfirmationKeys'), aad), 32);
    const cA = hmac(sha256, kc.slice(0, 16), TT);
    const cB = hmac(sha256, kc.slice(16, 32), TT);
    const [mine, theirs] = this.role === 'A' ? [cA, cB] : [cB, cA];
    return { ke: digest.slice(0, 16), confirmation: mine, verifyPeer: (c) => equalBytes(c, theirs), debug: { cA, cB } };
  }
}

// ------------------------------------------------------------------------------------- base64url (RFC 4648 §5, no padding)
export function toB64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Exactly `bytes` bytes of base64url, or undefined (the input comes from the network). */
export function fromB64(s, bytes) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length !== Math.ceil((bytes * 4) / 3)) return undefined;
  return fromB64Any(s);
}

export function fromB64Any(s) {
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** HKDF-SHA256 of Ke for the sealed channel (docs/peer-auth.md §Key schedule). */
export function sealingKey(ke, info) {
  return hkdf(sha256, ke, undefined, enc.encode(info), 32);
}
