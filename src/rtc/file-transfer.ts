/**
 * send-file / recv-file: move files over one reliable, ordered data channel (docs/file-transfer-protocol.md).
 *
 * Sender, per file: `file` header (name, size, SHA-256, chunk size) → receiver `accept` (resume offset + SHA-256 of
 * the bytes it already has) or `reject` → sender `start` (the offset it will really send from) → binary chunks →
 * `end` → receiver `ack` after it verified the SHA-256 and renamed `<name>.part` into place. Then `done`.
 *
 * Backpressure: werift slows down badly once bufferedAmount passes ~512 KiB and starves the event loop at a few MiB
 * (ICE consent then fails), so the sender keeps it under HIGH_WATER and waits for `bufferedAmountLow`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, constants as fsc } from 'node:fs';
import { open, stat, lstat, rename, link, unlink, access, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { ERROR_CODES, interruptError, RtcError, toRtcError, type RtcErrorCode } from '../errors.js';
import { deferred } from './deferred.js';
import { connectPeer, type PeerEvent, type PeerSession, type PeerSessionOptions, type SelectedPair } from './peer.js';
import {
  DEFAULT_CHUNK_SIZE,
  FILE_CHANNEL_ID,
  FILE_CHANNEL_LABEL,
  FILE_PROTOCOL_VERSION,
  MAX_CHUNK_SIZE,
  decodeControl,
  encodeControl,
  numberedName,
  printable,
  sanitizeFileName,
  type ControlMessage,
} from './file-transfer-protocol.js';
import { weriftPatchState, type WeriftPatchState } from './werift-patches.js';

/** Keep bufferedAmount under this (werift stalls above ~512 KiB). */
export const HIGH_WATER = 512 * 1024;
/** Resume sending when bufferedAmount drops below this. */
export const LOW_WATER = 256 * 1024;
/** How long a signaling peer-left waits for a reason still in flight on the data channel. */
const PEER_LEFT_GRACE_MS = 750;
/** Send a ping when we have sent nothing for this long, so an idle peer is not mistaken for a dead one. */
const PING_INTERVAL_MS = 2_000;
/** How long to wait for the data channel to open once the peer connection is up. */
const CHANNEL_OPEN_TIMEOUT_MS = 15_000;
/** How often progress is reported (plus once at the end of each file). */
const PROGRESS_INTERVAL_MS = 200;

export interface TransferProgress {
  direction: 'send' | 'recv';
  index: number;
  name: string;
  /** Bytes of this file done so far, including a resumed prefix. */
  bytes: number;
  /** Size of this file, null while unknown (stdin). */
  size: number | null;
  /** Where this session started in the file (resume). */
  offset: number;
  /** Bytes that crossed the channel in this session, all files. */
  sessionBytes: number;
  /** Bytes per second over this file's transfer so far. */
  rate: number;
  etaSeconds: number | null;
}

export interface TransferredFile {
  index: number;
  /** The name on the wire (sender) or as saved (receiver). */
  name: string;
  size: number;
  sha256: string;
  /** Sender: the source path ('-' for stdin). Receiver: where it was saved ('-' for --stdout). */
  path: string;
  /** Bytes skipped because the receiver already had them (resume). */
  offset: number;
  /** Bytes of this file sent/received in this session. */
  transferred: number;
  /** Receiver: the name the sender asked for, when we saved under another one (existing file, sanitised name). */
  requestedName?: string;
}

export interface FailedFile {
  index: number;
  name: string;
  code: RtcErrorCode;
  message: string;
}

export interface TransferResult {
  role: 'sender' | 'receiver';
  files: TransferredFile[];
  failed: FailedFile[];
  /** Bytes of file data that crossed the channel in this session. */
  bytes: number;
  seconds: number;
  /** Megabits per second of file data (bytes * 8 / 1e6 / seconds). */
  mbps: number;
  path: 'direct' | 'relayed';
  selectedPair: SelectedPair;
  setupMs: number;
  /** The werift this run used and whether rtc-cli's performance patches are applied to it (patches/README.md). */
  werift: WeriftPatchState;
}

export interface SessionOptions extends Omit<PeerSessionOptions, 'setup' | 'onEvent'> {
  onEvent?: (e: PeerEvent) => void;
  onProgress?: (p: TransferProgress) => void;
  /** Receiver and sender both give up when nothing arrives from the peer for this long. Default 15000 ms. */
  idleTimeoutMs?: number;
}

export interface SendSource {
  /** A file path, or '-' for stdin. */
  path: string;
  /** The name to announce (default: the path's basename; "stdin" for '-'). */
  name?: string;
}

export interface SendFilesOptions extends SessionOptions {
  files: SendSource[];
  /** Where '-' reads from (default process.stdin is NOT assumed: the command passes it). */
  stdin?: Readable;
  chunkSize?: number;
}

export interface ReceiveFilesOptions extends SessionOptions {
  /** Output directory (must exist). Ignored with `stdout`. */
  outDir: string;
  /** Overwrite existing files instead of saving under a free name. */
  force?: boolean;
  /** Write every file's bytes to this stream instead of files (recv-file --stdout). */
  stdout?: Writable;
}

// -------------------------------------------------------------------------------------------------------------
// Shared plumbing

type Incoming = { kind: 'control'; msg: ControlMessage } | { kind: 'data'; data: Buffer };

/**
 * Serialises everything that arrives on the channel into one queue, watches for the peer going away, and sends pings.
 * `failure` rejects (once) with the reason the transfer cannot go on; every wait races against it.
 */
class Link {
  private queue: Incoming[] = [];
  private waiter: ((m: Incoming) => void) | undefined;
  private readonly failed = deferred<never>();
  readonly failure: Promise<never> = this.failed.promise;
  private lastRx = Date.now();
  private lastTx = Date.now();
  private timer: NodeJS.Timeout;
  /** Set when the protocol is complete: closing after this is not an error. */
  finished = false;
  private failReason: RtcError | undefined;

  constructor(
    readonly dc: RTCDataChannel,
    session: PeerSession,
    idleTimeoutMs: number,
    abort: AbortSignal | undefined,
  ) {
    this.failure.catch(() => {});
    dc.onMessage.subscribe((m) => {
      this.lastRx = Date.now();
      if (typeof m === 'string') {
        let msg: ControlMessage;
        try {
          msg = decodeControl(m);
        } catch (e) {
          this.fail(toRtcError(e));
          return;
        }
        if (msg.t === 'ping') return;
        // A fatal error from the peer stops us at once, even mid-stream (the sender reads no replies while sending).
        if (msg.t === 'error') this.fail(remoteError(msg.code, msg.message));
        this.push({ kind: 'control', msg });
      } else {
        this.push({ kind: 'data', data: m });
      }
    });
    dc.stateChanged.subscribe((s) => {
      if (s === 'closing' || s === 'closed') this.gone('the peer closed the transfer channel');
    });
    // The peer's last message on the channel (an error saying *why* it stopped) travels over SCTP, its bye over the
    // signaling server: under load the bye can arrive first. Give the channel a moment so the reason wins; a close of
    // the channel itself is ordered after that message (same SCTP stream) and needs no grace.
    void session.peerLeft.then(() => {
      setTimeout(() => this.gone(session.leftReason ?? 'the peer left'), PEER_LEFT_GRACE_MS).unref();
    });
    const onAbort = (): void => {
      const r: unknown = abort?.reason;
      this.fail(interruptError(r));
    };
    if (abort?.aborted) onAbort();
    abort?.addEventListener('abort', onAbort, { once: true });
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastRx > idleTimeoutMs) {
        this.gone(`nothing arrived from the peer for ${Math.round(idleTimeoutMs / 1000)} s`);
        return;
      }
      if (now - this.lastTx >= PING_INTERVAL_MS && dc.readyState === 'open' && dc.bufferedAmount < LOW_WATER) {
        this.sendControl({ t: 'ping' });
      }
    }, 500);
    this.timer.unref();
  }

  private push(m: Incoming): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  gone(reason: string): void {
    if (this.finished) return;
    this.fail(new RtcError('RTC_ERR_PEER_LEFT', `${reason} before the transfer was complete`, {
      hint: 'run the same commands again: the receiver resumes from its verified .part file',
    }));
  }

  fail(err: RtcError): void {
    if (this.failReason) return;
    this.failReason = err;
    this.failed.reject(err);
  }

  get error(): RtcError | undefined {
    return this.failReason;
  }

  /** The next message, in arrival order. */
  next(): Promise<Incoming> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    const d = deferred<Incoming>();
    this.waiter = d.resolve;
    return Promise.race([d.promise, this.failure]);
  }

  async nextControl(): Promise<ControlMessage> {
    const m = await this.next();
    if (m.kind !== 'control') throw new RtcError('RTC_ERR_PROTOCOL', 'the peer sent file data outside of a file');
    if (m.msg.t === 'error') throw remoteError(m.msg.code, m.msg.message);
    return m.msg;
  }

  sendControl(msg: ControlMessage): void {
    this.lastTx = Date.now();
    this.dc.send(encodeControl(msg));
  }

  sendData(buf: Buffer): void {
    this.lastTx = Date.now();
    this.dc.send(buf);
  }

  /** Wait until bufferedAmount leaves room for `len` more bytes under HIGH_WATER. */
  async room(len: number): Promise<void> {
    const dc = this.dc;
    while (dc.bufferedAmount + len > HIGH_WATER) {
      const d = deferred<void>();
      const sub = dc.bufferedAmountLow.subscribe(() => d.resolve());
      // Belt and braces: if the low event fired between our check and the subscription, a short poll catches it.
      const poll = setInterval(() => {
        if (dc.bufferedAmount <= LOW_WATER) d.resolve();
      }, 50);
      try {
        await Promise.race([d.promise, this.failure]);
      } finally {
        sub.unSubscribe();
        clearInterval(poll);
      }
    }
  }

  /** Wait (bounded) until everything we sent has left the SCTP send buffer. */
  async drained(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.dc.readyState === 'open' && this.dc.bufferedAmount > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function remoteError(code: string, message: string): RtcError {
  const known = (ERROR_CODES as Record<string, { exit: number }>)[code];
  // The peer's usage errors are not ours: we report them as a failed transfer (exit 1).
  const ours: RtcErrorCode = known && known.exit === 1 ? (code as RtcErrorCode) : 'RTC_ERR_PROTOCOL';
  return new RtcError(ours, `the peer stopped the transfer: ${printable(message)}`);
}

function waitOpen(dc: RTCDataChannel, failure: Promise<never>): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  const d = deferred<void>();
  const sub = dc.stateChanged.subscribe((s) => {
    if (s === 'open') d.resolve();
  });
  const t = setTimeout(
    () => d.reject(new RtcError('RTC_ERR_ICE_FAILED', `the transfer channel did not open within ${CHANNEL_OPEN_TIMEOUT_MS / 1000} s`)),
    CHANNEL_OPEN_TIMEOUT_MS,
  );
  return Promise.race([d.promise, failure]).finally(() => {
    clearTimeout(t);
    sub.unSubscribe();
  });
}

class ProgressMeter {
  private last = 0;
  private readonly started = Date.now();
  constructor(
    private readonly emit: ((p: TransferProgress) => void) | undefined,
    private readonly base: Omit<TransferProgress, 'bytes' | 'rate' | 'etaSeconds' | 'sessionBytes'>,
  ) {}
  update(bytes: number, sessionBytes: number, force = false): void {
    if (!this.emit) return;
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = (bytes - this.base.offset) / secs;
    const size = this.base.size;
    const etaSeconds = size !== null && rate > 0 ? Math.max(0, (size - bytes) / rate) : null;
    this.emit({ ...this.base, bytes, sessionBytes, rate, etaSeconds });
  }
}

interface FileDigest {
  sha256: string;
  size: number;
}

async function digestFile(path: string): Promise<FileDigest> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

async function sha256OfFile(path: string, length?: number): Promise<Hash> {
  const h = createHash('sha256');
  if (length === 0) return h;
  const stream = createReadStream(path, length === undefined ? {} : { start: 0, end: length - 1 });
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h;
}

function createFileChannel(pc: RTCPeerConnection): RTCDataChannel {
  const dc = pc.createDataChannel(FILE_CHANNEL_LABEL, { negotiated: true, id: FILE_CHANNEL_ID, ordered: true });
  dc.bufferedAmountLowThreshold = LOW_WATER;
  return dc;
}

async function withSession<T>(
  opts: SessionOptions,
  run: (session: PeerSession, link: Link) => Promise<T>,
): Promise<T> {
  let dc: RTCDataChannel | undefined;
  const session = await connectPeer({
    ...opts,
    setup: (pc) => {
      dc = createFileChannel(pc);
    },
  });
  const link = new Link(dc!, session, opts.idleTimeoutMs ?? 15_000, opts.abort);
  try {
    await waitOpen(dc!, link.failure);
    return await run(session, link);
  } finally {
    // Let a last message (an error, the final ack) leave before the channel closes: the peer must learn why.
    await link.drained(1_000);
    link.finished = true;
    link.stop();
    await session.close();
  }
}

function summarize(
  role: 'sender' | 'receiver',
  session: PeerSession,
  files: TransferredFile[],
  failed: FailedFile[],
  started: number,
  ended = Date.now(),
): TransferResult {
  const seconds = Math.max((ended - started) / 1000, 0.001);
  const bytes = files.reduce((a, f) => a + f.transferred, 0);
  return {
    role,
    files,
    failed,
    bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: Math.round(((bytes * 8) / 1e6 / seconds) * 100) / 100,
    path: session.path,
    selectedPair: session.selectedPair,
    setupMs: session.setupMs,
    werift: weriftPatchState(),
  };
}

function failureError(result: TransferResult): RtcError {
  const f = result.failed[0]!;
  const more = result.failed.length > 1 ? ` (and ${result.failed.length - 1} more file(s) failed)` : '';
  return new RtcError(f.code, `${f.message}${more}`, { details: { result } });
}

// -------------------------------------------------------------------------------------------------------------
// Sender

interface PreparedSource {
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
    if (f.path === '-') {
      out.push({ path: '-', name: f.name ?? 'stdin', stdin: true, size: null });
      continue;
    }
    let st;
    try {
      st = await stat(f.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `no such file: ${f.path}`, { cause: e });
      }
      throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read ${f.path}: ${(e as Error).message}`, { cause: e });
    }
    if (!st.isFile()) throw new RtcError('RTC_ERR_FILE_UNREADABLE', `${f.path} is not a regular file`, { hint: 'send files, not directories (tar them first: tar c dir | rtc-cli send-file -)' });
    try {
      await access(f.path, fsc.R_OK);
    } catch (e) {
      throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read ${f.path}: permission denied`, { cause: e });
    }
    out.push({ path: f.path, name: f.name ?? basename(f.path), stdin: false, size: st.size });
  }
  return out;
}

export async function sendFiles(opts: SendFilesOptions): Promise<TransferResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new RtcError('RTC_ERR_USAGE', `chunk size must be 1..${MAX_CHUNK_SIZE}`);
  const sources = await prepareSources(opts.files);
  if (sources.some((s) => s.stdin) && !opts.stdin) throw new RtcError('RTC_ERR_USAGE', 'stdin is not available for "-"');
  // Hash the files (one after another) while we wait for the peer and set up the connection: the header needs the
  // SHA-256, and this keeps that pass off the transfer's critical path.
  const digests: (Promise<FileDigest> | null)[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  for (const src of sources) {
    if (src.stdin) {
      digests.push(null);
      continue;
    }
    const p = chain.then(() => digestFile(src.path));
    p.catch(() => {}); // surfaced when awaited
    chain = p.catch(() => {});
    digests.push(p);
  }
  return withSession(opts, async (session, link) => {
    const started = Date.now();
    const files: TransferredFile[] = [];
    const failed: FailedFile[] = [];
    let sessionBytes = 0;
    link.sendControl({ t: 'hello', v: FILE_PROTOCOL_VERSION, files: sources.length });
    for (let index = 0; index < sources.length; index++) {
      const src = sources[index]!;
      // The announced SHA-256 covers the file as it is now; if it changes while we send, the receiver's check fails.
      let digest: FileDigest | null = null;
      try {
        digest = await Promise.race([digests[index] ?? Promise.resolve(null), link.failure]);
      } catch (e) {
        if (e instanceof RtcError) throw e;
        throw new RtcError('RTC_ERR_PROTOCOL', `reading ${src.path} failed: ${(e as Error).message}`, { cause: e });
      }
      const announced = digest?.sha256 ?? null;
      // The size is what was hashed; we send exactly that many bytes, so a file that changes meanwhile fails the check.
      const size = digest ? digest.size : src.size;
      link.sendControl({ t: 'file', index, name: src.name, size, sha256: announced, chunkSize });
      const reply = await link.nextControl();
      if (reply.t === 'reject' && reply.index === index) {
        const code: RtcErrorCode = reply.code in ERROR_CODES ? (reply.code as RtcErrorCode) : 'RTC_ERR_PROTOCOL';
        failed.push({ index, name: src.name, code: ERROR_CODES[code].exit === 1 ? code : 'RTC_ERR_PROTOCOL', message: `the receiver refused ${printable(src.name)}: ${printable(reply.message)}` });
        continue;
      }
      if (reply.t !== 'accept' || reply.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected accept/reject for file ${index}, got "${reply.t}"`);

      // Resume (docs/file-transfer-protocol.md §Resume): skip ahead only if the receiver's bytes are our prefix.
      let offset = 0;
      let hash = createHash('sha256');
      if (!src.stdin && reply.offset > 0 && reply.prefixSha256 && size !== null && reply.offset <= size) {
        const prefix = await Promise.race([sha256OfFile(src.path, reply.offset), link.failure]);
        if (prefix.copy().digest('hex') === reply.prefixSha256) {
          offset = reply.offset;
          hash = prefix;
        }
      }
      link.sendControl({ t: 'start', index, offset });
      const meter = new ProgressMeter(opts.onProgress, { direction: 'send', index, name: src.name, size, offset });
      let pos = offset;
      const stream = src.stdin
        ? opts.stdin!
        : size === offset
          ? ([] as Buffer[])
          : createReadStream(src.path, { start: offset, end: size! - 1, highWaterMark: chunkSize });
      try {
        for await (const piece of stream) {
          const buf = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
          for (let i = 0; i < buf.length; i += chunkSize) {
            const chunk = i === 0 && buf.length <= chunkSize ? buf : buf.subarray(i, i + chunkSize);
            if (link.dc.bufferedAmount + chunk.length > HIGH_WATER) await link.room(chunk.length);
            if (link.error) throw link.error;
            // stdin has no announced hash: hash what we send. Files were hashed before sending.
            if (src.stdin || offset > 0) hash.update(chunk);
            link.sendData(chunk);
            pos += chunk.length;
            sessionBytes += chunk.length;
            meter.update(pos, sessionBytes);
          }
        }
      } catch (e) {
        if (e instanceof RtcError) throw e;
        const err = new RtcError('RTC_ERR_FILE_UNREADABLE', `reading ${src.path} failed: ${(e as Error).message}`, { cause: e });
        try {
          link.sendControl({ t: 'error', code: err.code, message: err.message });
        } catch {
          /* channel gone */
        }
        // A read error mid-transfer is a failed transfer (exit 1), not a usage error.
        throw new RtcError('RTC_ERR_PROTOCOL', err.message, { cause: e });
      } finally {
        if ('destroy' in stream && !src.stdin) (stream as Readable).destroy();
      }
      meter.update(pos, sessionBytes, true);
      const sent = src.stdin || offset > 0 ? hash.digest('hex') : announced!;
      link.sendControl({ t: 'end', index, size: pos, sha256: sent });
      const ack = await link.nextControl();
      if (ack.t !== 'ack' || ack.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected an ack for file ${index}, got "${ack.t}"`);
      if (!ack.ok) {
        const code: RtcErrorCode = ack.code === 'RTC_ERR_HASH_MISMATCH' || ack.code === 'RTC_ERR_WRITE' ? ack.code : 'RTC_ERR_PROTOCOL';
        failed.push({ index, name: src.name, code, message: `the receiver could not verify ${printable(src.name)}: ${printable(ack.message)}` });
        continue;
      }
      files.push({ index, name: src.name, size: pos, sha256: announced ?? sent, path: src.path, offset, transferred: pos - offset });
    }
    const ended = Date.now();
    link.sendControl({ t: 'done', files: sources.length });
    link.finished = true;
    await link.drained(5_000);
    // Let the receiver hang up first: our bye over signaling could overtake `done` on the data channel (TURN over TCP
    // is slow enough for that), and the receiver would think we left mid-transfer.
    await Promise.race([session.peerLeft, new Promise((r) => setTimeout(r, 3_000).unref())]);
    const result = summarize('sender', session, files, failed, started, ended);
    if (failed.length) throw failureError(result);
    return result;
  });
}

// -------------------------------------------------------------------------------------------------------------
// Receiver

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Check the output directory before connecting (exit 2 if it cannot be used). */
export async function checkOutDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output directory ${dir} does not exist`, { cause: e, hint: `create it first: mkdir -p ${dir}` });
  }
  if (!st.isDirectory()) throw new RtcError('RTC_ERR_BAD_OUTPUT', `${dir} is not a directory`);
  try {
    await access(abs, fsc.W_OK);
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output directory ${dir} is not writable`, { cause: e });
  }
  return abs;
}

/** Where to save `name`: itself if free (or --force), else the first free `name (n).ext`. Never a .part name. */
async function chooseTarget(dir: string, name: string, force: boolean): Promise<string> {
  if (force || !(await exists(join(dir, name)))) return name;
  for (let n = 1; n < 1000; n++) {
    const candidate = numberedName(name, n);
    if (!(await exists(join(dir, candidate)))) return candidate;
  }
  throw new RtcError('RTC_ERR_EXISTS', `${name} and 999 numbered variants already exist in ${dir}`, { hint: 'pass --force to overwrite, or choose another --out' });
}

function writeError(e: unknown, what: string): RtcError {
  return new RtcError('RTC_ERR_WRITE', `cannot write ${what}: ${(e as Error).message}`, {
    cause: e,
    hint: (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'the disk is full; free space and run again to resume' : undefined,
  });
}

export async function receiveFiles(opts: ReceiveFilesOptions): Promise<TransferResult> {
  const outDir = opts.stdout ? '' : await checkOutDir(opts.outDir);
  return withSession(opts, async (session, link) => {
    const started = Date.now();
    const files: TransferredFile[] = [];
    const failed: FailedFile[] = [];
    let sessionBytes = 0;
    // EPIPE and friends arrive as 'error' events, not as exceptions from write().
    opts.stdout?.on('error', (e) => link.fail(writeError(e, 'to stdout')));
    // The sender says hello as soon as the channel opens; a peer that does not is not a sender (two recv-files).
    let helloTimer: NodeJS.Timeout | undefined;
    const hello = await Promise.race([
      link.nextControl(),
      new Promise<never>((_, reject) => {
        helloTimer = setTimeout(
          () => reject(new RtcError('RTC_ERR_PROTOCOL', 'the peer sent no hello within 15 s: is the other side running send-file?')),
          15_000,
        );
      }),
    ]).finally(() => clearTimeout(helloTimer));
    if (hello.t !== 'hello') throw new RtcError('RTC_ERR_PROTOCOL', `expected hello, got "${hello.t}"`);
    if (hello.v !== FILE_PROTOCOL_VERSION) {
      link.sendControl({ t: 'error', code: 'RTC_ERR_PROTOCOL', message: `unsupported protocol version ${hello.v} (we speak ${FILE_PROTOCOL_VERSION})` });
      throw new RtcError('RTC_ERR_PROTOCOL', `the sender speaks transfer protocol v${hello.v}; this rtc-cli speaks v${FILE_PROTOCOL_VERSION}`);
    }
    let expectIndex = 0;
    let ended: number | undefined;
    /**
     * Every announced file settled? Then a hang-up is no longer a failure: take `done` if it comes (our peer's bye over
     * signaling may overtake it), but do not wait for it.
     */
    const allSettled = async (): Promise<boolean> => {
      if (hello.files === null || expectIndex < hello.files) return false;
      ended = Date.now();
      link.finished = true;
      await Promise.race([link.nextControl().catch(() => undefined), session.peerLeft, new Promise((res) => setTimeout(res, 3_000).unref())]);
      return true;
    };
    for (;;) {
      const msg = await link.nextControl();
      if (msg.t === 'done') {
        link.finished = true;
        break;
      }
      if (msg.t !== 'file' || msg.index !== expectIndex) throw new RtcError('RTC_ERR_PROTOCOL', `expected file ${expectIndex} or done, got "${msg.t}"`);
      const index = expectIndex++;
      const checked = sanitizeFileName(msg.name);
      if (!checked.ok) {
        link.sendControl({ t: 'reject', index, code: 'RTC_ERR_UNSAFE_NAME', message: checked.reason });
        failed.push({ index, name: printable(msg.name), code: 'RTC_ERR_UNSAFE_NAME', message: `refused a file: ${checked.reason}` });
        if (await allSettled()) break;
        continue;
      }
      const r = await receiveOne(link, opts, outDir, index, msg, checked.name, () => sessionBytes, (n) => (sessionBytes += n));
      if ('code' in r) failed.push(r);
      else files.push(r);
      if (await allSettled()) break;
    }
    const result = summarize('receiver', session, files, failed, started, ended);
    if (failed.length) throw failureError(result);
    return result;
  });
}

async function receiveOne(
  link: Link,
  opts: ReceiveFilesOptions,
  outDir: string,
  index: number,
  header: Extract<ControlMessage, { t: 'file' }>,
  safeName: string,
  getSession: () => number,
  addSession: (n: number) => void,
): Promise<TransferredFile | FailedFile> {
  const toStdout = Boolean(opts.stdout);
  const target = toStdout ? safeName : await chooseTarget(outDir, safeName, Boolean(opts.force));
  const finalPath = toStdout ? '-' : join(outDir, target);
  const partPath = `${finalPath}.part`;

  // Resume: a .part that is not longer than the file is offered back with the SHA-256 of its bytes; the sender decides.
  let offset = 0;
  let prefix: Hash | undefined;
  if (!toStdout && header.size !== null) {
    try {
      const st = await lstat(partPath);
      if (st.isFile() && st.size > 0 && st.size <= header.size) {
        prefix = await sha256OfFile(partPath, st.size);
        offset = st.size;
      }
    } catch {
      /* no part file */
    }
  }
  link.sendControl({ t: 'accept', index, offset, prefixSha256: prefix ? prefix.copy().digest('hex') : null, savedAs: target });
  const start = await link.nextControl();
  if (start.t !== 'start' || start.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected start for file ${index}, got "${start.t}"`);
  if (start.offset !== 0 && start.offset !== offset) throw new RtcError('RTC_ERR_PROTOCOL', `the sender wants to start at ${start.offset}, we offered ${offset}`);
  const hash = start.offset === offset && prefix ? prefix : createHash('sha256');
  offset = start.offset;

  let fh: FileHandle | undefined;
  if (!toStdout) {
    try {
      fh = await open(partPath, offset > 0 ? 'r+' : 'w', 0o644);
      if (offset > 0) await fh.truncate(offset);
    } catch (e) {
      const err = writeError(e, partPath);
      link.sendControl({ t: 'error', code: err.code, message: err.message });
      throw err;
    }
  }
  const meter = new ProgressMeter(opts.onProgress, { direction: 'recv', index, name: target, size: header.size, offset });
  let pos = offset;
  let end: Extract<ControlMessage, { t: 'end' }> | undefined;
  try {
    while (!end) {
      const m = await link.next();
      if (m.kind === 'data') {
        if (header.size !== null && pos + m.data.length > header.size) {
          throw new RtcError('RTC_ERR_PROTOCOL', `the sender sent more than the announced ${header.size} bytes of ${target}`);
        }
        hash.update(m.data);
        try {
          if (fh) await fh.write(m.data, 0, m.data.length, pos);
          else if (!opts.stdout!.write(m.data)) await Promise.race([once(opts.stdout!, 'drain'), link.failure]);
        } catch (e) {
          if (e instanceof RtcError) throw e;
          const err = writeError(e, toStdout ? 'to stdout' : partPath);
          link.sendControl({ t: 'error', code: err.code, message: err.message });
          throw err;
        }
        pos += m.data.length;
        addSession(m.data.length);
        meter.update(pos, getSession());
        continue;
      }
      const c = m.msg;
      if (c.t === 'error') throw remoteError(c.code, c.message);
      if (c.t !== 'end' || c.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected data or end for file ${index}, got "${c.t}"`);
      end = c;
    }
    if (fh) {
      await fh.sync();
      await fh.close();
      fh = undefined;
    }
  } finally {
    // Keep what we have: it is the verified-on-resume prefix for the next run.
    await fh?.close().catch(() => {});
  }
  meter.update(pos, getSession(), true);

  const got = hash.digest('hex');
  const expected = header.sha256 ?? end.sha256;
  const sizeOk = pos === end.size && (header.size === null || header.size === pos);
  if (!sizeOk || got !== expected) {
    const why = !sizeOk
      ? `${target}: got ${pos} bytes, the sender announced ${header.size ?? end.size}`
      : `${target}: SHA-256 mismatch (expected ${expected.slice(0, 16)}…, got ${got.slice(0, 16)}…)${end.sha256 !== expected ? '; the source file changed while it was being sent' : ''}`;
    // The .part is ours and known bad: remove it so a resume does not build on it. Nothing of the user's is touched.
    if (!toStdout) await unlink(partPath).catch(() => {});
    link.sendControl({ t: 'ack', index, ok: false, code: 'RTC_ERR_HASH_MISMATCH', message: why });
    return { index, name: target, code: 'RTC_ERR_HASH_MISMATCH', message: why };
  }
  if (!toStdout) {
    try {
      if (opts.force) await rename(partPath, finalPath);
      else {
        // link(2) fails if the target appeared meanwhile: never clobber a file that was not there when we chose the name.
        await moveNoClobber(partPath, finalPath);
      }
    } catch (e) {
      const err = (e as NodeJS.ErrnoException).code === 'EEXIST'
        ? new RtcError('RTC_ERR_EXISTS', `${finalPath} appeared while receiving; the data is kept in ${partPath}`, { hint: 'pass --force to overwrite' })
        : writeError(e, finalPath);
      link.sendControl({ t: 'ack', index, ok: false, code: err.code, message: err.message });
      return { index, name: target, code: err.code, message: err.message };
    }
  }
  link.sendControl({ t: 'ack', index, ok: true, sha256: got, savedAs: target });
  const file: TransferredFile = { index, name: target, size: pos, sha256: got, path: finalPath, offset, transferred: pos - offset };
  if (target !== header.name) file.requestedName = printable(header.name);
  return file;
}

/** Move without ever replacing an existing file: link(2) fails with EEXIST if `to` exists (atomic no-clobber). */
async function moveNoClobber(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Filesystems without hard links (some FUSE/SMB mounts): check, then rename (a small race, documented).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e;
    if (await exists(to)) {
      const err = new Error(`${to} exists`) as NodeJS.ErrnoException;
      err.code = 'EEXIST';
      throw err;
    }
    await rename(from, to);
    return;
  }
  await unlink(from);
}
