// The page as the sending side of docs/file-transfer-protocol.md (send-file's counterpart is
// src/rtc/transfer/sender.ts). Per file: `file` header with its SHA-256 → the receiver's `accept` (or `reject`) →
// `start` → binary chunks of 64 KiB under backpressure → `end` → the receiver's `ack`. Then `done`. A receiver that
// offers to resume gets it when the SHA-256 of the bytes it has matches our file's prefix.
import { hashBlob } from './hash.js';
import { CHUNK_SIZE, FILE_PROTOCOL_VERSION, printable, TransferError } from './protocol.js';
import { Transfer } from './transfers.js';

/** Bytes read from the file per step while sending. */
const READ_SLICE = 1024 * 1024;
/** While hashing, tell the receiver how far we got this often, so its progress deadline does not trip. */
const WORK_PING_MS = 1_000;
/** After `done`, how long to wait for the receiver to hang up first (docs/file-transfer-protocol.md §Closing order). */
const HANGUP_WAIT_MS = 3_000;

/**
 * A file the user picked, with its SHA-256 computed once, right away (the header needs it; this keeps that pass off
 * the transfer's critical path). `done` counts the bytes hashed so far.
 */
export class Outgoing {
  constructor(file) {
    this.file = file;
    this.name = file.name;
    this.size = file.size;
    this.done = 0;
    this.digest = hashBlob(file, { onProgress: (n) => (this.done = n) });
    this.digest.catch(() => {}); // surfaced when awaited
  }
}

/** Wait for `promise`, sending ping.work while `job.done` grows (docs/file-transfer-protocol.md §Progress deadline). */
async function withWorkPings(link, promise, job, work, onTick = () => {}) {
  let reported = -1;
  const timer = setInterval(() => {
    onTick(job.done);
    if (job.done <= reported) return;
    reported = job.done;
    link.trySend({ t: 'ping', work: { ...work, done: Math.min(job.done, job.total), total: job.total } });
  }, WORK_PING_MS);
  try {
    return await Promise.race([promise, link.failure]);
  } finally {
    clearInterval(timer);
  }
}

/**
 * Send `items` (Outgoing) over `link`. Resolves with {files, failed} once `done` is sent and the receiver hung up (or
 * HANGUP_WAIT_MS passed); throws TransferError when the session broke. `hungUp(ms)` resolves when the receiver is gone
 * or after `ms`.
 */
export async function sendSession(link, items, peerName, hungUp) {
  const outcome = { files: [], failed: [] };
  link.send({ t: 'hello', v: FILE_PROTOCOL_VERSION, files: items.length });
  for (let index = 0; index < items.length; index++) await sendOne(link, items[index], index, peerName, outcome);
  link.send({ t: 'done', files: items.length });
  link.finished = true;
  await link.drained(5_000);
  await hungUp(HANGUP_WAIT_MS);
  return outcome;
}

async function sendOne(link, item, index, peerName, outcome) {
  const t = new Transfer({ direction: 'send', peer: peerName, name: item.name, size: item.size });
  try {
    t.progress(item.done, 'hashing');
    const job = { get done() { return item.done; }, total: item.size };
    const sha256 = await withWorkPings(link, item.digest, job, { index, phase: 'hash' }, (n) => t.progress(n, 'hashing'));
    link.send({ t: 'file', index, name: item.name, size: item.size, sha256, chunkSize: CHUNK_SIZE });
    const reply = await link.nextControl();
    if (reply.t === 'reject' && reply.index === index) {
      const why = `the receiver refused it: ${printable(reply.message)} [${printable(reply.code)}]`;
      outcome.failed.push({ name: t.name, code: reply.code, message: why });
      return t.finish('refused', why);
    }
    if (reply.t !== 'accept' || reply.index !== index) throw new TransferError('RTC_ERR_PROTOCOL', `expected accept/reject for file ${index}, got "${reply.t}"`);
    const offset = await resumePoint(link, item, index, reply);
    link.send({ t: 'start', index, offset });
    t.offset = offset;
    await stream(link, item.file, offset, t);
    link.send({ t: 'end', index, size: item.size, sha256 });
    await settle(link, index, t, sha256, outcome);
  } catch (e) {
    t.finish('failed', e.message);
    throw e;
  }
}

/** docs/file-transfer-protocol.md §Resume: skip ahead only if the receiver's bytes are our prefix. */
async function resumePoint(link, item, index, accept) {
  if (accept.offset === 0 || !accept.prefixSha256 || accept.offset > item.size) return 0;
  const job = { done: 0, total: accept.offset };
  const prefix = hashBlob(item.file, { end: accept.offset, onProgress: (n) => (job.done = n) });
  return (await withWorkPings(link, prefix, job, { index, phase: 'prefix' })) === accept.prefixSha256 ? accept.offset : 0;
}

/** The file's bytes from `offset`. A read error (the file changed or vanished) is told to the receiver. */
async function read(link, file, pos) {
  try {
    return new Uint8Array(await file.slice(pos, pos + READ_SLICE).arrayBuffer());
  } catch (e) {
    const message = `reading ${printable(file.name)} failed: ${e.message} (changed or removed since it was picked?)`;
    link.trySend({ t: 'error', code: 'RTC_ERR_FILE_UNREADABLE', message });
    throw new TransferError('RTC_ERR_FILE_UNREADABLE', message);
  }
}

async function stream(link, file, offset, t) {
  for (let pos = offset; pos < file.size; ) {
    const slice = await read(link, file, pos);
    for (let i = 0; i < slice.length; i += CHUNK_SIZE) {
      const chunk = slice.subarray(i, i + CHUNK_SIZE);
      await link.room(chunk.length);
      if (link.error) throw link.error;
      link.sendData(chunk);
      pos += chunk.length;
      t.progress(pos, 'sending');
    }
  }
}

async function settle(link, index, t, sha256, outcome) {
  const ack = await link.nextControl();
  if (ack.t !== 'ack' || ack.index !== index) throw new TransferError('RTC_ERR_PROTOCOL', `expected an ack for file ${index}, got "${ack.t}"`);
  if (!ack.ok) {
    const why = `the receiver could not verify it: ${printable(ack.message)} [${printable(ack.code)}]`;
    outcome.failed.push({ name: t.name, code: ack.code, message: why });
    return t.finish('failed', why);
  }
  t.sha256 = sha256;
  t.savedAs = printable(ack.savedAs);
  outcome.files.push({ name: t.name, size: t.size, sha256 });
  t.finish('done', `saved as ${t.savedAs}`);
}
