// The page as the receiving side of docs/file-transfer-protocol.md (recv-file's counterpart is
// src/rtc/transfer/receiver.ts), written for a sender that may be hostile: the name is judged before anything is
// accepted, the size is checked against what the browser can store, no byte beyond the announced size is taken, a
// sender that only keeps the channel alive is dropped, and a file whose SHA-256 does not match is deleted, never
// offered. The page does not resume: it always accepts at offset 0.
import { incrementalHash } from './hash.js';
import { IDLE_TIMEOUT_MS, remoteError } from './link.js';
import { checkName, FILE_PROTOCOL_VERSION, printable, TransferError } from './protocol.js';
import { openSink } from './sinks.js';
import { Transfer } from './transfers.js';

/** After the last announced file, how long to wait for `done` (the sender's bye may overtake it). */
const DONE_GRACE_MS = 3_000;

/** Which ping.work counts as progress: only for the next file's header (phase "hash"), and only when it grew. */
function workWatch(link, index) {
  let best = -1;
  link.workCounts = (w) => {
    if (w.index !== index || w.phase !== 'hash' || w.done <= best) return false;
    best = w.done;
    return true;
  };
}

/**
 * Run one receiving session whose `hello` has arrived. Resolves with {files, failed} when the sender said `done`;
 * throws TransferError when the session broke.
 */
export async function receiveSession(link, hello, peerName) {
  if (hello.v !== FILE_PROTOCOL_VERSION) {
    link.trySend({ t: 'error', code: 'RTC_ERR_PROTOCOL', message: `unsupported protocol version ${hello.v} (the page speaks ${FILE_PROTOCOL_VERSION})` });
    throw new TransferError('RTC_ERR_PROTOCOL', `the sender speaks transfer protocol v${hello.v}; this page speaks v${FILE_PROTOCOL_VERSION}`);
  }
  const announced = hello.files;
  const outcome = { files: [], failed: [] };
  link.progressDeadlineMs = IDLE_TIMEOUT_MS;
  for (let received = 0; ; ) {
    workWatch(link, received);
    const msg = await link.nextControl();
    if (msg.t === 'done') {
      checkDone(announced, msg.files, received);
      link.finished = true;
      return outcome;
    }
    if (msg.t !== 'file' || msg.index !== received) throw new TransferError('RTC_ERR_PROTOCOL', `expected file ${received} or done, got "${msg.t}"`);
    received++;
    await receiveOne(link, msg, peerName, outcome);
    if (announced !== null && received >= announced) {
      // Every announced file is settled: a hang-up is no longer a failure. Take `done` if it comes.
      link.finished = true;
      const grace = new Promise((r) => setTimeout(r, DONE_GRACE_MS));
      await Promise.race([link.nextControl().catch(() => undefined), grace]);
      return outcome;
    }
  }
}

function checkDone(announced, said, received) {
  const expected = announced ?? said;
  if (said === expected && received === expected) return;
  throw new TransferError('RTC_ERR_PROTOCOL', `the sender ended the session after ${received} of ${expected} announced file(s)${said !== expected ? ` (its done says ${said})` : ''}`);
}

async function receiveOne(link, header, peerName, outcome) {
  const t = new Transfer({ direction: 'recv', peer: peerName, name: header.name, size: header.size });
  const refuse = (code, reason) => {
    link.send({ t: 'reject', index: header.index, code, message: reason });
    outcome.failed.push({ name: t.name, code, message: reason });
    t.finish('refused', reason);
  };
  const checked = checkName(header.name);
  if (!checked.ok) return refuse('RTC_ERR_UNSAFE_NAME', checked.reason);
  let sink;
  try {
    sink = await openSink(header.size);
  } catch (e) {
    return refuse(e.code ?? 'RTC_ERR_WRITE', e.message);
  }
  try {
    await receiveInto(link, header, checked.name, sink, t);
  } catch (e) {
    await sink.discard();
    t.finish('failed', e.message);
    throw e;
  }
  if (t.status === 'done') outcome.files.push({ name: checked.name, size: t.bytes, sha256: t.sha256 });
  else outcome.failed.push({ name: t.name, code: 'RTC_ERR_HASH_MISMATCH', message: t.message });
}

async function receiveInto(link, header, name, sink, t) {
  const { index } = header;
  link.send({ t: 'accept', index, offset: 0, prefixSha256: null, savedAs: name });
  const start = await link.nextControl();
  if (start.t !== 'start' || start.index !== index) throw new TransferError('RTC_ERR_PROTOCOL', `expected start for file ${index}, got "${start.t}"`);
  if (start.offset !== 0) throw new TransferError('RTC_ERR_PROTOCOL', `the sender wants to start at ${start.offset}, the page offered 0`);
  t.storage = sink.kind;
  const hash = incrementalHash();
  let pos = 0;
  for (;;) {
    const m = await link.next();
    if (m.kind === 'control') {
      const c = m.msg;
      if (c.t === 'error') throw remoteError(c.code, c.message);
      if (c.t !== 'end' || c.index !== index) throw new TransferError('RTC_ERR_PROTOCOL', `expected data or end for file ${index}, got "${c.t}"`);
      return settle(link, header, { name, sink, t, pos, end: c, got: hash.hex() });
    }
    if (header.size !== null && pos + m.data.length > header.size) {
      throw new TransferError('RTC_ERR_PROTOCOL', `the sender sent more than the announced ${header.size} bytes of ${printable(name)}`);
    }
    hash.update(m.data);
    await sink.write(m.data);
    pos += m.data.length;
    t.progress(pos, 'receiving');
  }
}

/** Size and SHA-256 verified → download and ack; otherwise the bytes are deleted, nothing is offered, ack ok:false. */
async function settle(link, header, { name, sink, t, pos, end, got }) {
  const expected = header.sha256 ?? end.sha256;
  const sizeOk = pos === end.size && (header.size === null || header.size === pos);
  t.progress(pos);
  if (!sizeOk || got !== expected) {
    const why = !sizeOk
      ? `${printable(name)}: got ${pos} bytes, the sender announced ${header.size ?? end.size}`
      : `${printable(name)}: SHA-256 mismatch (expected ${expected.slice(0, 16)}…, got ${got.slice(0, 16)}…): the file was damaged or altered on the way, and was deleted`;
    await sink.discard();
    link.send({ t: 'ack', index: header.index, ok: false, code: 'RTC_ERR_HASH_MISMATCH', message: why });
    t.finish('failed', why);
    return;
  }
  const blob = await sink.finish();
  link.send({ t: 'ack', index: header.index, ok: true, sha256: got, savedAs: name });
  t.sha256 = got;
  t.savedAs = name;
  t.finish('done', t.name !== name ? `saved as ${printable(name)}` : '');
  t.offer(blob, name);
}
