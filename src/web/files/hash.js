// SHA-256 of what is sent and received (docs/file-transfer-protocol.md §Integrity). Web Crypto digests whole buffers
// only, so a file is hashed with it only when it fits in memory comfortably; larger files, and everything received
// (hashed as it arrives, never held whole), go through @noble/hashes' incremental SHA-256.
import { sha256 } from '../lib/vendor.js';

/** Files up to this size are read whole and hashed by Web Crypto (native speed); larger ones incrementally. */
export const WHOLE_HASH_LIMIT = 256 * 1024 * 1024;
/** Bytes read per step when hashing a file incrementally. */
const SLICE = 4 * 1024 * 1024;

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** An incremental SHA-256: update(bytes), then hex() once. */
export function incrementalHash() {
  const h = sha256.create();
  return {
    update: (bytes) => h.update(bytes),
    hex: () => toHex(h.digest()),
  };
}

/**
 * SHA-256 (hex) of the first `end` bytes of a Blob/File. `onProgress(bytesRead)` is called as it goes. Web Crypto
 * (`crypto.subtle`, secure contexts only) for up to `wholeLimit` bytes, noble incrementally beyond.
 */
export async function hashBlob(blob, { end = blob.size, onProgress = () => {}, wholeLimit = WHOLE_HASH_LIMIT } = {}) {
  if (end <= wholeLimit && globalThis.crypto?.subtle) {
    const digest = await crypto.subtle.digest('SHA-256', await blob.slice(0, end).arrayBuffer());
    onProgress(end);
    return toHex(new Uint8Array(digest));
  }
  const h = incrementalHash();
  for (let pos = 0; pos < end; ) {
    const next = Math.min(end, pos + SLICE);
    h.update(new Uint8Array(await blob.slice(pos, next).arrayBuffer()));
    pos = next;
    onProgress(pos);
  }
  return h.hex();
}
