/**
 * send-file's side of the protocol (docs/file-transfer-protocol.md). Per file: `file` header (name, size, SHA-256) →
 * the receiver's `accept` (resume offset + SHA-256 of the bytes it has) or `reject` → `start` (the offset we really send
 * from) → binary chunks → `end` → the receiver's `ack`. Then `done`.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { RtcError } from '../../errors.js';
import { DEFAULT_CHUNK_SIZE, FILE_PROTOCOL_VERSION, MAX_CHUNK_SIZE, type ControlMessage, type Work } from '../file-transfer-protocol.js';
import type { PeerSession } from '../peer.js';
import { digestFile, hashPrefix, type FileDigest } from './digest.js';
import { peerFailureCode, type Link } from './link.js';
import { printable } from './names.js';
import { readBlocks } from './read-blocks.js';
import { ProgressMeter } from './progress.js';
import { failureError, pairNow, summarize, withSession } from './session.js';
import type { FailedFile, SendFilesOptions, SendSource, TransferredFile, TransferResult } from './types.js';

/** While preparing a file (hashing), tell the receiver how far we got this often, so it does not think we stalled. */
const WORK_PING_MS = 1_000;

export interface PreparedSource {
  path: string;
  name: string;
  stdin: boolean;
  size: number | null;
}

/** Check every source before connecting (missing/unreadable file → exit 2 without waiting for a peer). */
export async function prepareSources(files: SendSource[]): Promise<PreparedSource[]> {
  if (files.length === 0) throw new RtcError('RTC_ERR_USAGE', 'no files to send', { hint: 'rtc-cli send-file --room demo a.bin b.bin (or - for stdin)' });
  if (files.filter((f) => f.path === '-').length > 1) throw new RtcError('RTC_ERR_USAGE', 'stdin ("-") can be sent only once');
  const out: PreparedSource[] = [];
  for (const f of files) {
    if (f.path === '-') out.push({ path: '-', name: f.name ?? 'stdin', stdin: true, size: null });
    else out.push(await prepareFile(f));
  }
  return out;
}

async function prepareFile(f: SendSource): Promise<PreparedSource> {
  let st;
  try {
    st = await stat(f.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `no such file: ${f.path}`, { cause: e });
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read ${f.path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isFile()) throw new RtcError('RTC_ERR_FILE_UNREADABLE', `${f.path} is not a regular file`, { hint: 'send files, not directories (tar them first: tar c dir | rtc-cli send-file -)' });
  try {
    await access(f.path, fsc.R_OK);
  } catch (e) {
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read ${f.path}: permission denied`, { cause: e });
  }
  return { path: f.path, name: f.name ?? basename(f.path), stdin: false, size: st.size };
}

/** A hash in progress: how many bytes it has read so far, and its result. */
interface HashJob<T> {
  promise: Promise<T>;
  done: number;
  total: number;
}

/**
 * Hash the files one after another, starting now (while we wait for the peer and connect): each header needs its
 * SHA-256, and this keeps that pass off the transfer's critical path.
 */
function startDigests(sources: PreparedSource[]): (HashJob<FileDigest> | null)[] {
  let chain: Promise<unknown> = Promise.resolve();
  return sources.map((src) => {
    if (src.stdin) return null;
    const job: HashJob<FileDigest> = { promise: Promise.resolve({ sha256: '', size: 0 }), done: 0, total: src.size ?? 0 };
    job.promise = chain.then(() => digestFile(src.path, (n) => (job.done = n)));
    job.promise.catch(() => {}); // surfaced when awaited
    chain = job.promise.catch(() => {});
    return job;
  });
}

/** Wait for `job`, sending `ping.work` every WORK_PING_MS while its byte count grows. */
async function withWorkPings<T>(link: Link, job: HashJob<T>, work: Omit<Work, 'done' | 'total'>): Promise<T> {
  let reported = -1;
  const tick = (): void => {
    if (job.done <= reported) return;
    reported = job.done;
    link.trySendControl({ t: 'ping', work: { ...work, done: Math.min(job.done, job.total), total: job.total } });
  };
  const timer = setInterval(tick, WORK_PING_MS);
  try {
    return await Promise.race([job.promise, link.failure]);
  } finally {
    clearInterval(timer);
  }
}

export async function sendFiles(opts: SendFilesOptions): Promise<TransferResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new RtcError('RTC_ERR_USAGE', `chunk size must be 1..${MAX_CHUNK_SIZE}`);
  const sources = await prepareSources(opts.files);
  if (sources.some((s) => s.stdin) && !opts.stdin) throw new RtcError('RTC_ERR_USAGE', 'stdin is not available for "-"');
  const digests = startDigests(sources);
  return withSession(opts, (session, link) => new Sender(link, opts, sources, digests, chunkSize).run(session));
}

class Sender {
  private readonly files: TransferredFile[] = [];
  private readonly failed: FailedFile[] = [];
  private sessionBytes = 0;

  constructor(
    private readonly link: Link,
    private readonly opts: SendFilesOptions,
    private readonly sources: PreparedSource[],
    private readonly digests: (HashJob<FileDigest> | null)[],
    private readonly chunkSize: number,
  ) {}

  async run(session: PeerSession): Promise<TransferResult> {
    const started = Date.now();
    this.link.sendControl({ t: 'hello', v: FILE_PROTOCOL_VERSION, files: this.sources.length });
    for (let index = 0; index < this.sources.length; index++) await this.sendOne(index);
    const ended = Date.now();
    const pair = pairNow(session);
    this.link.sendControl({ t: 'done', files: this.sources.length });
    this.link.finished = true;
    await this.link.drained(5_000);
    // Let the receiver hang up first: our bye over signaling could overtake `done` on the data channel (TURN over TCP
    // is slow enough for that), and the receiver would think we left mid-transfer.
    await Promise.race([session.peerLeft, new Promise((r) => setTimeout(r, 3_000).unref())]);
    const result = summarize('sender', session, this.files, this.failed, started, ended, pair);
    if (this.failed.length) throw failureError(result);
    return result;
  }

  private async sendOne(index: number): Promise<void> {
    const src = this.sources[index]!;
    const digest = await this.digest(index, src);
    const announced = digest?.sha256 ?? null;
    // The size is what was hashed; we send exactly that many bytes, so a file that changes meanwhile fails the check.
    const size = digest ? digest.size : src.size;
    this.link.sendControl({ t: 'file', index, name: src.name, size, sha256: announced, chunkSize: this.chunkSize });
    const reply = await this.link.nextControl();
    if (reply.t === 'reject' && reply.index === index) {
      this.failed.push({ index, name: src.name, code: peerFailureCode(reply.code), message: `the receiver refused ${printable(src.name)}: ${printable(reply.message)}` });
      return;
    }
    if (reply.t !== 'accept' || reply.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected accept/reject for file ${index}, got "${reply.t}"`);
    const { offset, hash } = await this.resumePoint(index, src, size, reply);
    this.link.sendControl({ t: 'start', index, offset });
    const pos = await this.stream(index, src, size, offset, hash);
    const sent = src.stdin || offset > 0 ? hash.digest('hex') : announced!;
    this.link.sendControl({ t: 'end', index, size: pos, sha256: sent });
    await this.settle(index, src, { size: pos, sha256: announced ?? sent, offset });
  }

  /** The SHA-256 announced in the header (null for stdin): it covers the file as it is now. */
  private async digest(index: number, src: PreparedSource): Promise<FileDigest | null> {
    const job = this.digests[index];
    if (!job) return null;
    try {
      return await withWorkPings(this.link, job, { index, phase: 'hash' });
    } catch (e) {
      if (e instanceof RtcError) throw e;
      throw new RtcError('RTC_ERR_PROTOCOL', `reading ${src.path} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Resume (docs/file-transfer-protocol.md §Resume): skip ahead only if the receiver's bytes are our prefix. */
  private async resumePoint(
    index: number,
    src: PreparedSource,
    size: number | null,
    accept: Extract<ControlMessage, { t: 'accept' }>,
  ): Promise<{ offset: number; hash: Hash }> {
    const fresh = { offset: 0, hash: createHash('sha256') };
    if (src.stdin || accept.offset === 0 || !accept.prefixSha256 || size === null || accept.offset > size) return fresh;
    const job: HashJob<Hash> = { promise: Promise.resolve(createHash('sha256')), done: 0, total: accept.offset };
    job.promise = hashPrefix(src.path, accept.offset, (n) => (job.done = n));
    const prefix = await withWorkPings(this.link, job, { index, phase: 'prefix' });
    return prefix.copy().digest('hex') === accept.prefixSha256 ? { offset: accept.offset, hash: prefix } : fresh;
  }

  /** Send the bytes from `offset`; returns the position reached (the file's size as sent). */
  private async stream(index: number, src: PreparedSource, size: number | null, offset: number, hash: Hash): Promise<number> {
    const meter = new ProgressMeter(this.opts.onProgress, { direction: 'send', index, name: src.name, size, offset });
    const stream = src.stdin ? this.opts.stdin! : readBlocks(src.path, offset, size!, { reuse: this.link.copiesOnSend });
    let pos = offset;
    try {
      for await (const piece of stream) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
        for (let i = 0; i < buf.length; i += this.chunkSize) {
          const chunk = i === 0 && buf.length <= this.chunkSize ? buf : buf.subarray(i, i + this.chunkSize);
          await this.sendChunk(chunk, src.stdin || offset > 0 ? hash : undefined);
          pos += chunk.length;
          meter.update(pos, this.sessionBytes);
        }
      }
    } catch (e) {
      throw this.readFailure(e, src);
    }
    meter.update(pos, this.sessionBytes, true);
    return pos;
  }

  private async sendChunk(chunk: Buffer, hash: Hash | undefined): Promise<void> {
    if (!this.link.hasRoom(chunk.length)) await this.link.room(chunk.length);
    if (this.link.error) throw this.link.error;
    // stdin has no announced hash and a resumed file's hash continues the prefix: hash what we send.
    hash?.update(chunk);
    this.link.sendData(chunk);
    this.sessionBytes += chunk.length;
  }

  /** A read error mid-transfer is a failed transfer (exit 1), not a usage error; the receiver is told why. */
  private readFailure(e: unknown, src: PreparedSource): RtcError {
    if (e instanceof RtcError) return e;
    const message = `reading ${src.path} failed: ${(e as Error).message}`;
    this.link.trySendControl({ t: 'error', code: 'RTC_ERR_FILE_UNREADABLE', message });
    return new RtcError('RTC_ERR_PROTOCOL', message, { cause: e });
  }

  private async settle(index: number, src: PreparedSource, sent: { size: number; sha256: string; offset: number }): Promise<void> {
    const ack = await this.link.nextControl();
    if (ack.t !== 'ack' || ack.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected an ack for file ${index}, got "${ack.t}"`);
    if (!ack.ok) {
      this.failed.push({ index, name: src.name, code: peerFailureCode(ack.code), message: `the receiver could not verify ${printable(src.name)}: ${printable(ack.message)}` });
      return;
    }
    this.files.push({ index, name: src.name, size: sent.size, sha256: sent.sha256, path: src.path, offset: sent.offset, transferred: sent.size - sent.offset });
  }
}
