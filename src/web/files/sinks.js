// Where a received file's bytes go until its SHA-256 is verified; only then does the user get a download.
//
// Streaming: the browser's origin private file system (OPFS, WHATWG File System standard: navigator.storage
// .getDirectory() and FileSystemFileHandle.createWritable(), feature-detected; Chromium and Firefox have both): bytes are written
// to disk as they arrive, so a file may be as large as the browser's storage quota for this origin (checked before the
// file is accepted). A verified file is offered as a download of that disk-backed File; a file that fails verification
// is deleted and never offered. createWritable() writes to a swap file and commits on close(), so a file is never
// visible half-written.
//
// Elsewhere (no createWritable, e.g. older Safari), the bytes are held in memory until verified, and files over
// MEMORY_LIMIT are refused before a byte is sent (RTC_ERR_TOO_LARGE).
import { TransferError } from './protocol.js';

export const MEMORY_LIMIT = 1024 * 1024 * 1024;
const DIR = 'rtc-cli-incoming';
/** Writes to OPFS are batched to this many bytes (a write per 64 KiB message would cost more than the data). */
const BATCH = 1024 * 1024;

export function canStream() {
  return Boolean(navigator.storage?.getDirectory) && typeof FileSystemFileHandle !== 'undefined' && 'createWritable' in FileSystemFileHandle.prototype;
}

const randomHex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * This tab's directory inside OPFS. Each tab holds a Web Lock named after its directory for as long as it lives, so
 * a later tab can remove the directories of tabs that are gone (their files were offered, or failed) and never those
 * of a tab still receiving.
 */
let tabDir;
const tabId = randomHex(8);
async function ownDir() {
  if (!tabDir) {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
    if (navigator.locks) navigator.locks.request(`${DIR}/${tabId}`, () => new Promise(() => {})).catch(() => {});
    tabDir = await root.getDirectoryHandle(tabId, { create: true });
  }
  return tabDir;
}

/** Remove what earlier tabs left in OPFS (their lock is free: they are gone). Never throws. */
export async function clearLeftovers() {
  if (!canStream() || !navigator.locks) return 0;
  let removed = 0;
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
    for await (const name of root.keys()) {
      if (name === tabId) continue;
      await navigator.locks.request(`${DIR}/${name}`, { ifAvailable: true }, async (lock) => {
        if (!lock) return;
        await root.removeEntry(name, { recursive: true });
        removed++;
      });
    }
  } catch {
    /* storage unavailable (private mode, quota): nothing to clean */
  }
  return removed;
}

async function freeStorage() {
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return typeof quota === 'number' ? quota - (usage ?? 0) : Infinity;
  } catch {
    return Infinity;
  }
}

class OpfsSink {
  static async open() {
    const dir = await ownDir();
    const name = `${randomHex(12)}.part`;
    const handle = await dir.getFileHandle(name, { create: true });
    return new OpfsSink(dir, name, handle, await handle.createWritable());
  }

  constructor(dir, name, handle, writable) {
    Object.assign(this, { dir, name, handle, writable, kind: 'streamed to browser storage', pending: [], pendingBytes: 0 });
  }

  async write(bytes) {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= BATCH) await this.flush();
  }

  async flush() {
    if (this.pendingBytes === 0) return;
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.writable.write(new Blob(parts));
  }

  /** Commit and return the disk-backed File. */
  async finish() {
    await this.flush();
    await this.writable.close();
    return this.handle.getFile();
  }

  async discard() {
    this.pending = [];
    try {
      await this.writable.abort();
    } catch {
      /* already closed */
    }
    await this.dir.removeEntry(this.name).catch(() => {});
  }
}

class MemorySink {
  constructor() {
    Object.assign(this, { kind: 'held in memory', parts: [], bytes: 0 });
  }

  async write(bytes) {
    this.bytes += bytes.length;
    if (this.bytes > MEMORY_LIMIT) throw new TransferError('RTC_ERR_TOO_LARGE', `the file passed ${MEMORY_LIMIT / 2 ** 30} GiB, the most this browser can hold in memory (it cannot stream to disk)`);
    this.parts.push(bytes);
  }

  async finish() {
    const blob = new Blob(this.parts);
    this.parts = [];
    return blob;
  }

  async discard() {
    this.parts = [];
  }
}

/**
 * A place for a file of `size` bytes (null: unknown), or a TransferError RTC_ERR_TOO_LARGE when it cannot fit: the
 * receiver then rejects the file before a byte is sent.
 */
export async function openSink(size) {
  if (canStream()) {
    const free = await freeStorage();
    if (size !== null && size > free) {
      throw new TransferError('RTC_ERR_TOO_LARGE', `the file is ${size} bytes but the browser lets this page store only ${Math.max(0, Math.floor(free))} more`);
    }
    try {
      return await OpfsSink.open();
    } catch {
      /* OPFS refused (private browsing, disabled storage): hold it in memory instead */
    }
  }
  if (size !== null && size > MEMORY_LIMIT) {
    throw new TransferError('RTC_ERR_TOO_LARGE', `the file is ${size} bytes; this browser cannot stream to disk and holds at most ${MEMORY_LIMIT / 2 ** 30} GiB in memory`);
  }
  return new MemorySink();
}

/** What this browser will do with received files, for the page to say. */
export function storageNote() {
  return canStream()
    ? 'Received files are written to this browser\'s private storage as they arrive and offered as downloads once their SHA-256 matches; a file that does not match is deleted.'
    : `This browser cannot stream to disk: received files are held in memory until their SHA-256 matches (at most ${MEMORY_LIMIT / 2 ** 30} GiB each), then offered as downloads.`;
}
