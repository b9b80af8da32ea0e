// The sealed channel of docs/peer-auth.md §Sealed payloads (the CLI's is src/rtc/auth/sealed.ts): after key
// confirmation every payload is AES-256-GCM under a per-direction key from Ke, nonce 00000000‖uint64be(seq), AAD
// "rtc-cli sealed v1" (the TLS 1.3 record construction, RFC 8446 §5.3), with Web Crypto. Web Crypto is asynchronous,
// so sealing and opening are each queued: boxes leave, and are opened, in order, and counters never repeat.
import { AuthError, fromB64Any, sealingKey, toB64 } from './spake2.js';

const AAD = new TextEncoder().encode('rtc-cli sealed v1');
const MAX_PLAINTEXT = 48 * 1024;
const INFO = { joiner: 'rtc-cli sealed v1 joiner to creator', creator: 'rtc-cli sealed v1 creator to joiner' };

function nonce(seq) {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
}

const importKey = (raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);

export function isSealed(d) {
  return typeof d === 'object' && d !== null && d.kind === 'sealed' && Number.isSafeInteger(d.seq) && d.seq >= 0 && typeof d.box === 'string';
}

export class SealedChannel {
  /** `side`: 'joiner' or 'creator', ours. */
  constructor(ke, side) {
    const other = side === 'joiner' ? 'creator' : 'joiner';
    this.sendKey = importKey(sealingKey(ke, INFO[side]));
    this.recvKey = importKey(sealingKey(ke, INFO[other]));
    this.sendSeq = 0;
    this.recvNext = 0;
    this.sending = Promise.resolve();
    this.opening = Promise.resolve();
  }

  /** The wire message {kind:'sealed', seq, box} for `payload`; seals complete in call order. */
  seal(payload) {
    const seq = this.sendSeq++;
    const run = async () => {
      const box = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce(seq), additionalData: AAD }, await this.sendKey, new TextEncoder().encode(JSON.stringify(payload)));
      return { kind: 'sealed', seq, box: toB64(new Uint8Array(box)) };
    };
    const p = this.sending.then(run);
    this.sending = p.catch(() => {});
    return p;
  }

  /** The payload inside a sealed message (parsed JSON, not yet validated); throws AuthError when it does not open. */
  open(msg) {
    const p = this.opening.then(() => this.openNow(msg));
    this.opening = p.catch(() => {});
    return p;
  }

  async openNow(msg) {
    if (msg.seq < this.recvNext) throw new AuthError(`a sealed message was replayed or reordered (seq ${msg.seq}, expected ≥ ${this.recvNext})`);
    const body = fromB64Any(msg.box);
    if (!body || body.length < 16 || body.length > MAX_PLAINTEXT + 16) throw new AuthError('a sealed message has an impossible size');
    let plain;
    try {
      plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce(msg.seq), additionalData: AAD }, await this.recvKey, body);
    } catch {
      throw new AuthError('a sealed message did not authenticate (altered in transit, or sealed under another key)');
    }
    this.recvNext = msg.seq + 1;
    try {
      return JSON.parse(new TextDecoder().decode(plain));
    } catch {
      throw new AuthError('a sealed message does not hold JSON');
    }
  }
}
