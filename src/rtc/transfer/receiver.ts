/**
 * recv-file's side of the protocol (docs/file-transfer-protocol.md), written for a sender that may be hostile: every
 * name is judged before anything is created, every file's size is checked against --max-size and the free space
 * before it is accepted, partial files live where only rtc-cli writes (part-store.ts), a sender that only keeps the
 * channel alive is dropped after --idle-timeout, and `done` before every announced file is settled is a failure.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { RtcError } from '../../errors.js';
import { FILE_PROTOCOL_VERSION, type ControlMessage, type Work } from '../file-transfer-protocol.js';
import type { PeerSession } from '../peer.js';
import { remoteError, type Link } from './link.js';
import { printable, sanitizeFileName } from './names.js';
import { checkOutDir, chooseTarget, freeBytes } from './out-dir.js';
import { PartStore, writeError, type PartFile } from './part-store.js';
import { ProgressMeter } from './progress.js';
import type { SelectedPair } from '../engine/types.js';
import { failureError, idleTimeout, pairNow, summarize, withSession } from './session.js';
import type { FailedFile, ReceiveFilesOptions, TransferredFile, TransferResult } from './types.js';

/** The sender says hello as soon as the channel opens; a peer that does not is not a sender (two recv-files). */
const HELLO_TIMEOUT_MS = 15_000;
/** After the last announced file, how long to wait for `done` (the sender's bye may overtake it). */
const DONE_GRACE_MS = 3_000;
/**
 * At most this many queued bytes go to disk in one write. One pwritev per batch instead of one write per 64 KiB chunk
 * spares a thread-pool round trip per chunk (bench/datachannel, send-file-native on loopback).
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

type FileHeader = Extract<ControlMessage, { t: 'file' }>;
type EndMessage = Extract<ControlMessage, { t: 'end' }>;

export async function receiveFiles(opts: ReceiveFilesOptions): Promise<TransferResult> {
  const outDir = opts.stdout ? '' : await checkOutDir(opts.outDir);
  return withSession(opts, (session, link) => new Receiver(session, link, opts, outDir).run());
}

/**
 * Which `ping.work` counts as progress: only for the step we wait for (the next file's header: phase `hash`; the
 * `start` after we offered a prefix: phase `prefix`, whose total must be our offset), and only when `done` grew.
 */
class WorkWatch {
  private want: { index: number; phase: Work['phase']; total?: number } | undefined;
  private best = -1;

  expect(index: number, phase: Work['phase'], total?: number): void {
    this.want = { index, phase, total };
    this.best = -1;
  }

  clear(): void {
    this.want = undefined;
  }

  readonly counts = (w: Work): boolean => {
    const x = this.want;
    if (!x || w.index !== x.index || w.phase !== x.phase || (x.total !== undefined && w.total !== x.total)) return false;
    if (w.done <= this.best) return false;
    this.best = w.done;
    return true;
  };
}

/** One file on its way in: where it goes and what we already have of it. */
interface Admitted {
  header: FileHeader;
  target: string;
  /** Undefined with --stdout. */
  part?: PartFile;
}

class Receiver {
  private readonly files: TransferredFile[] = [];
  private readonly failed: FailedFile[] = [];
  private readonly work = new WorkWatch();
  private readonly store: PartStore | undefined;
  private sessionBytes = 0;
  private received = 0;
  private readonly started = Date.now();
  private ended: number | undefined;
  private endPair: SelectedPair | undefined;

  constructor(
    private readonly session: PeerSession,
    private readonly link: Link,
    private readonly opts: ReceiveFilesOptions,
    private readonly outDir: string,
  ) {
    this.store = opts.stdout ? undefined : new PartStore(outDir);
    link.workCounts = this.work.counts;
    // EPIPE and friends arrive as 'error' events, not as exceptions from write().
    opts.stdout?.on('error', (e) => link.fail(writeError(e, 'to stdout')));
  }

  async run(): Promise<TransferResult> {
    const announced = await this.hello();
    // From here on the sender owes us progress (the hello wait has its own, clearer deadline).
    this.link.progressDeadlineMs = idleTimeout(this.opts);
    for (;;) {
      this.work.expect(this.received, 'hash');
      const msg = await this.link.nextControl();
      this.work.clear();
      if (msg.t === 'done') {
        this.checkDone(announced, msg.files);
        this.link.finished = true;
        break;
      }
      if (msg.t !== 'file' || msg.index !== this.received) throw new RtcError('RTC_ERR_PROTOCOL', `expected file ${this.received} or done, got "${msg.t}"`);
      this.received++;
      await this.receiveOne(msg);
      if (await this.allSettled(announced)) break;
    }
    const result = this.result();
    if (this.failed.length) throw failureError(result);
    return result;
  }

  private result(): TransferResult {
    return summarize('receiver', this.session, this.files, this.failed, this.started, this.ended, this.endPair);
  }

  /** The sender's hello: its protocol version and how many files it will send (null: not said). */
  private async hello(): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const hello = await Promise.race([
      this.link.nextControl(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RtcError('RTC_ERR_PROTOCOL', `the peer sent no hello within ${HELLO_TIMEOUT_MS / 1000} s: is the other side running send-file?`)),
          HELLO_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (hello.t !== 'hello') throw new RtcError('RTC_ERR_PROTOCOL', `expected hello, got "${hello.t}"`);
    if (hello.v !== FILE_PROTOCOL_VERSION) {
      this.link.sendControl({ t: 'error', code: 'RTC_ERR_PROTOCOL', message: `unsupported protocol version ${hello.v} (we speak ${FILE_PROTOCOL_VERSION})` });
      throw new RtcError('RTC_ERR_PROTOCOL', `the sender speaks transfer protocol v${hello.v}; this rtc-cli speaks v${FILE_PROTOCOL_VERSION}`);
    }
    return hello.files;
  }

  /** `done` must come after every file the sender announced (in hello, and in done itself) was settled. */
  private checkDone(announced: number | null, said: number): void {
    const expected = announced ?? said;
    if (said === expected && this.received === expected) return;
    throw new RtcError(
      'RTC_ERR_PROTOCOL',
      `the sender ended the session after ${this.received} of ${expected} announced file(s)${said !== expected ? ` (its done says ${said})` : ''}`,
      { details: { result: this.result() } },
    );
  }

  /**
   * Every announced file settled? Then a hang-up is no longer a failure: take `done` if it comes (the sender's bye over
   * signaling may overtake it), but do not wait for it long.
   */
  private async allSettled(announced: number | null): Promise<boolean> {
    if (announced === null || this.received < announced) return false;
    this.ended = Date.now();
    this.endPair = pairNow(this.session);
    this.link.finished = true;
    const grace = new Promise((res) => setTimeout(res, DONE_GRACE_MS).unref());
    await Promise.race([this.link.nextControl().catch(() => undefined), this.session.peerLeft, grace]);
    return true;
  }

  private async receiveOne(header: FileHeader): Promise<void> {
    const file = await this.admit(header);
    if (!file) return;
    const { index } = header;
    const part = file.part;
    const offset = part?.offset ?? 0;
    try {
      this.link.sendControl({ t: 'accept', index, offset, prefixSha256: part?.prefix ? part.prefix.copy().digest('hex') : null, savedAs: file.target });
      if (offset > 0) this.work.expect(index, 'prefix', offset);
      const start = await this.link.nextControl();
      this.work.clear();
      if (start.t !== 'start' || start.index !== index) throw new RtcError('RTC_ERR_PROTOCOL', `expected start for file ${index}, got "${start.t}"`);
      if (start.offset !== 0 && start.offset !== offset) throw new RtcError('RTC_ERR_PROTOCOL', `the sender wants to start at ${start.offset}, we offered ${offset}`);
      await part?.startAt(start.offset).catch((e: unknown) => Promise.reject(writeError(e, part.path)));
      const hash = start.offset > 0 && part?.prefix ? part.prefix : createHash('sha256');
      const { pos, end } = await this.receiveBytes(file, start.offset, hash);
      await this.settle(file, { offset: start.offset, pos, end, got: hash.digest('hex') });
    } catch (e) {
      // A known-size file keeps what it has (the verified-on-resume prefix of the next run); a stream of unknown size
      // cannot resume, so its partial file goes rather than filling the disk.
      await (header.size === null ? part?.discard() : part?.keep());
      throw e;
    }
  }

  /** Refuse the file (`reject`, listed under `failed`) and return undefined. */
  private refuse(header: FileHeader, code: FailedFile['code'], reason: string): undefined {
    this.link.sendControl({ t: 'reject', index: header.index, code, message: reason });
    this.failed.push({ index: header.index, name: printable(header.name), code, message: `refused a file: ${reason}` });
    return undefined;
  }

  /** Decide, before anything is accepted, whether and where this file can be saved. */
  private async admit(header: FileHeader): Promise<Admitted | undefined> {
    const checked = sanitizeFileName(header.name, { allowDotfiles: this.opts.allowDotfiles });
    if (!checked.ok) return this.refuse(header, 'RTC_ERR_UNSAFE_NAME', checked.reason);
    const max = this.opts.maxSize;
    if (max !== undefined && header.size !== null && header.size > max) {
      return this.refuse(header, 'RTC_ERR_TOO_LARGE', `${printable(checked.name)} is ${header.size} bytes, more than --max-size ${max}`);
    }
    if (!this.store) return { header, target: checked.name };
    let target: string;
    let part: PartFile;
    try {
      target = await chooseTarget(this.outDir, checked.name, Boolean(this.opts.force));
      part = await this.store.claim({ target, size: header.size, sha256: header.sha256 });
    } catch (e) {
      const err = writeError(e, join(this.outDir, checked.name));
      return this.refuse(header, err.code, err.message);
    }
    const need = header.size === null ? 0 : header.size - part.offset;
    const free = need > 0 ? await freeBytes(this.outDir).catch(() => Infinity) : Infinity;
    if (need > free) {
      await part.keep();
      return this.refuse(header, 'RTC_ERR_TOO_LARGE', `${printable(target)} needs ${need} more bytes but only ${free} are free in ${this.outDir}`);
    }
    return { header, target, part };
  }

  /** File bytes until `end`: written in arrival order, hashed, bounded by the announced size and --max-size. */
  private async receiveBytes(file: Admitted, offset: number, hash: Hash): Promise<{ pos: number; end: EndMessage }> {
    const { header } = file;
    const meter = new ProgressMeter(this.opts.onProgress, { direction: 'recv', index: header.index, name: file.target, size: header.size, offset });
    let pos = offset;
    for (;;) {
      const m = await this.link.next();
      if (m.kind === 'control') {
        const c = m.msg;
        if (c.t === 'error') throw remoteError(c.code, c.message);
        if (c.t !== 'end' || c.index !== header.index) throw new RtcError('RTC_ERR_PROTOCOL', `expected data or end for file ${header.index}, got "${c.t}"`);
        meter.update(pos, this.sessionBytes, true);
        return { pos, end: c };
      }
      // The chunks that arrived while we were writing the last batch go to disk together (one pwritev).
      const batch = [m.data, ...this.link.takeQueuedData(WRITE_BATCH_BYTES)];
      let bytes = 0;
      for (const data of batch) {
        bytes += data.length;
        this.checkLength(file, pos + bytes);
        hash.update(data);
      }
      await this.write(file, batch, pos);
      pos += bytes;
      this.sessionBytes += bytes;
      meter.update(pos, this.sessionBytes);
    }
  }

  private checkLength(file: Admitted, length: number): void {
    const { header } = file;
    if (header.size !== null && length > header.size) {
      throw new RtcError('RTC_ERR_PROTOCOL', `the sender sent more than the announced ${header.size} bytes of ${printable(file.target)}`);
    }
    const max = this.opts.maxSize;
    if (max !== undefined && length > max) {
      const err = new RtcError('RTC_ERR_TOO_LARGE', `${printable(file.target)} passed --max-size ${max} bytes`, { hint: 'raise --max-size if you expect a larger stream' });
      this.link.trySendControl({ t: 'error', code: err.code, message: err.message });
      throw err;
    }
  }

  private async write(file: Admitted, batch: Buffer[], pos: number): Promise<void> {
    const out = this.opts.stdout;
    try {
      if (file.part) await file.part.write(batch, pos);
      else {
        let room = true;
        for (const data of batch) room = out!.write(data);
        if (!room) await Promise.race([once(out!, 'drain'), this.link.failure]);
      }
    } catch (e) {
      if (e instanceof RtcError) throw e;
      const err = writeError(e, file.part ? file.part.path : 'to stdout');
      this.link.trySendControl({ t: 'error', code: err.code, message: err.message });
      throw err;
    }
  }

  /** Verify size and SHA-256, then move into place (or discard), and tell the sender with `ack`. */
  private async settle(file: Admitted, r: { offset: number; pos: number; end: EndMessage; got: string }): Promise<void> {
    const { header, target, part } = file;
    const index = header.index;
    const expected = header.sha256 ?? r.end.sha256;
    const sizeOk = r.pos === r.end.size && (header.size === null || header.size === r.pos);
    if (!sizeOk || r.got !== expected) {
      const why = !sizeOk
        ? `${printable(target)}: got ${r.pos} bytes, the sender announced ${header.size ?? r.end.size}`
        : `${printable(target)}: SHA-256 mismatch (expected ${expected.slice(0, 16)}…, got ${r.got.slice(0, 16)}…)${r.end.sha256 !== expected ? '; the source file changed while it was being sent' : ''}`;
      // The partial file is ours and known bad: remove it so a resume does not build on it.
      await part?.discard();
      return this.nack(file, 'RTC_ERR_HASH_MISMATCH', why);
    }
    const finalPath = part ? join(this.outDir, target) : '-';
    if (part) {
      try {
        await part.finish();
        await part.commit(finalPath, Boolean(this.opts.force) && !target.startsWith('.'));
      } catch (e) {
        await part.keep();
        const err = writeError(e, finalPath);
        return this.nack(file, err.code, err.message);
      }
    }
    this.link.sendControl({ t: 'ack', index, ok: true, sha256: r.got, savedAs: target });
    const saved: TransferredFile = { index, name: target, size: r.pos, sha256: r.got, path: finalPath, offset: r.offset, transferred: r.pos - r.offset };
    if (target !== header.name) saved.requestedName = printable(header.name);
    this.files.push(saved);
  }

  private nack(file: Admitted, code: FailedFile['code'], message: string): void {
    this.link.sendControl({ t: 'ack', index: file.header.index, ok: false, code, message });
    this.failed.push({ index: file.header.index, name: file.target, code, message });
  }
}
