/**
 * After SPAKE2 key confirmation, every peer-signaling payload (offer, answer, candidate, bye) travels sealed under a
 * key only the two peers hold (docs/peer-auth.md §Sealed payloads). The SDP carries each side's DTLS fingerprint
 * (RFC 8842 §5), so sealing it binds the DTLS handshake to the code: the signaling server can neither read nor
 * change the fingerprint, the candidates or a `bye`.
 *
 * Construction (no new crypto, the TLS 1.3 record pattern of RFC 8446 §5.3 on a standard AEAD):
 *   k_jc = HKDF-SHA256(IKM = Ke, salt = nil, info = "rtc-cli sealed v1 joiner to creator", L = 32)   (RFC 5869)
 *   k_cj = HKDF-SHA256(IKM = Ke, salt = nil, info = "rtc-cli sealed v1 creator to joiner", L = 32)
 *   nonce = 0x00000000 ‖ uint64be(seq)   one counter per direction, from 0       (RFC 5116 §3.2 deterministic nonce)
 *   box = AES-256-GCM(key, nonce, plaintext = UTF-8 JSON of the payload, AAD = "rtc-cli sealed v1")  (NIST SP 800-38D)
 *   wire: {"kind":"sealed","seq":n,"box":base64url(ciphertext ‖ 16-byte tag)}
 * A receiver accepts only seq ≥ the next one it expects (no replay, no reordering; a lost message is tolerated) and
 * a box that authenticates. Anything else is tampering on the signaling path.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const SEALED_AAD = 'rtc-cli sealed v1';
const INFO_JOINER_TO_CREATOR = 'rtc-cli sealed v1 joiner to creator';
const INFO_CREATOR_TO_JOINER = 'rtc-cli sealed v1 creator to joiner';
/** Sealed plaintexts larger than this are refused (an SDP is a few KiB; the relay caps frames at 64 KiB anyway). */
export const SEALED_MAX_PLAINTEXT = 48 * 1024;

export type AuthSide = 'joiner' | 'creator';

export interface SealedMessage {
  kind: 'sealed';
  seq: number;
  box: string;
}

/** Why a sealed message was refused. */
export class SealedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedError';
  }
}

export function isSealedMessage(d: unknown): d is SealedMessage {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return o.kind === 'sealed' && Number.isSafeInteger(o.seq) && (o.seq as number) >= 0 && typeof o.box === 'string';
}

/** The two directional keys of docs/peer-auth.md §Sealed payloads (exported for the test vectors). */
export function sealedKeys(ke: Uint8Array): { joinerToCreator: Buffer; creatorToJoiner: Buffer } {
  const enc = new TextEncoder();
  return {
    joinerToCreator: Buffer.from(hkdf(sha256, ke, undefined, enc.encode(INFO_JOINER_TO_CREATOR), 32)),
    creatorToJoiner: Buffer.from(hkdf(sha256, ke, undefined, enc.encode(INFO_CREATOR_TO_JOINER), 32)),
  };
}

function nonce(seq: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(seq), 4);
  return n;
}

/** One peer's end of the sealed channel: seals what it sends, opens what it receives. */
export class SealedChannel {
  private readonly sendKey: Buffer;
  private readonly recvKey: Buffer;
  private sendSeq = 0;
  private recvNext = 0;

  constructor(ke: Uint8Array, side: AuthSide) {
    const k = sealedKeys(ke);
    this.sendKey = side === 'joiner' ? k.joinerToCreator : k.creatorToJoiner;
    this.recvKey = side === 'joiner' ? k.creatorToJoiner : k.joinerToCreator;
  }

  seal(payload: object): SealedMessage {
    const seq = this.sendSeq++;
    const c = createCipheriv('aes-256-gcm', this.sendKey, nonce(seq));
    c.setAAD(Buffer.from(SEALED_AAD, 'ascii'));
    const body = Buffer.concat([c.update(JSON.stringify(payload), 'utf8'), c.final(), c.getAuthTag()]);
    return { kind: 'sealed', seq, box: body.toString('base64url') };
  }

  /** The payload inside `msg` (parsed JSON, not yet validated). Throws SealedError when it does not authenticate. */
  open(msg: SealedMessage): unknown {
    if (msg.seq < this.recvNext) throw new SealedError(`a sealed message was replayed or reordered (seq ${msg.seq}, expected ≥ ${this.recvNext})`);
    const body = Buffer.from(msg.box, 'base64url');
    if (body.length < 16 || body.length > SEALED_MAX_PLAINTEXT + 16) throw new SealedError(`a sealed message has an impossible size (${body.length} bytes)`);
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', this.recvKey, nonce(msg.seq));
      d.setAAD(Buffer.from(SEALED_AAD, 'ascii'));
      d.setAuthTag(body.subarray(body.length - 16));
      plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
    } catch {
      throw new SealedError('a sealed message did not authenticate (altered in transit, or sealed under another key)');
    }
    this.recvNext = msg.seq + 1;
    try {
      return JSON.parse(plain.toString('utf8')) as unknown;
    } catch {
      throw new SealedError('a sealed message does not hold JSON');
    }
  }
}
