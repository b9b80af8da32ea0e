/**
 * The file a recording writes: the tracks' frames put on one timeline, interleaved, and muxed into `<out>.part`, which
 * becomes `<out>` when finalized (src/rtc/media/matroska-writer.ts explains why a `.part` cut by a crash still plays).
 *
 * Timeline: a frame's time is its RTP time (ticks / clock rate, exact; RFC 3550 §5.1) placed on the arrival clock by
 * its track's alignment (record-tracks.ts), minus the time of the earliest first frame, so the file starts at 0.
 * Audio keeps every frame that arrived, from its first one; video starts at its first keyframe.
 *
 * End: the last video frame is held until the end of the last audio frame (written with an explicit BlockDuration),
 * so both tracks end together, when that is at most MAX_LAST_FRAME_HOLD_MS away; a longer difference is real (the
 * video stopped earlier) and is left visible.
 */
import { renameSync, rmSync } from 'node:fs';
import { RtcError } from '../errors.js';
import { opusHead, opusPacketDurationMs } from './media/codec-info.js';
import { Interleaver, type Released } from './media/interleaver.js';
import { MatroskaWriter, type MatroskaTrack } from './media/matroska-writer.js';
import type { Frame } from './media/rtp-frames.js';
import { MATROSKA_CODEC_ID, type OutputTarget } from './record-output.js';
import type { IncomingTrack } from './record-tracks.js';

/** A track that goes quiet holds the others back at most this long (more than the 500 ms video jitter buffer). */
const MAX_INTERLEAVE_HOLD_MS = 1500;
const MAX_LAST_FRAME_HOLD_MS = 100;
/** Opus frames are 20 ms unless their TOC says otherwise (RFC 7587 §4.2: Chromium's ptime). */
const DEFAULT_AUDIO_FRAME_MS = 20;
/** Matroska's Opus mapping: decoders need 80 ms of pre-roll after a seek (RFC 7845 §4.6). */
const OPUS_SEEK_PREROLL_NS = 80_000_000;

interface Timed {
  timeMs: number;
  frame: Frame;
  input: IncomingTrack;
}

export interface FileOptions {
  target: OutputTarget;
  writingApp: string;
  /** Frames at or after this time (ms, as written: rounded to 1 ms) are not written; `onDurationReached` fires at the first one. */
  durationMs?: number;
  onDurationReached?: () => void;
  /** Writing failed (disk full, path gone): the recording must stop; finish() reports it. */
  onWriteError?: (e: unknown) => void;
}

export class RecordingFile {
  /** Arrival-clock time (ms) of the file's 0. */
  readonly zeroArrivalMs: number;
  private readonly writer: MatroskaWriter;
  private readonly interleaver: Interleaver<Timed>;
  private readonly numbers = new Map<IncomingTrack, number>();
  private audioEndMs = 0;
  private lastVideoInterval = 1000 / 30;
  private writeError: unknown;
  private done = false;

  constructor(
    private readonly inputs: IncomingTrack[],
    private readonly opts: FileOptions,
  ) {
    inputs.forEach((t, i) => this.numbers.set(t, i + 1));
    this.zeroArrivalMs = Math.min(...inputs.map((t) => t.arrivalTimeMs(t.firstFrame!.ticks)));
    rmSync(opts.target.partPath, { force: true });
    this.writer = MatroskaWriter.open({
      path: opts.target.partPath,
      docType: opts.target.container,
      writingApp: opts.writingApp,
      tracks: inputs.map((t) => this.trackSpec(t)),
    });
    this.interleaver = new Interleaver<Timed>([...this.numbers.values()], (r) => this.write(r), MAX_INTERLEAVE_HOLD_MS);
  }

  /** Hand each track's pre-roll and live frames to the file. */
  start(): void {
    for (const t of this.inputs) t.startRecording((f) => this.take(t, f));
  }

  get bytes(): number {
    return this.writer.bytes;
  }

  frames(t: IncomingTrack): number {
    return this.writer.frames(this.numbers.get(t)!);
  }

  /** Flush the tracks and the interleaver, finalize and rename. Returns the file's duration (ms) and size. */
  finish(): { durationMs: number; bytes: number } {
    for (const t of this.inputs) t.finish();
    this.interleaver.flush();
    this.done = true;
    if (this.writeError) this.failWrite(this.writeError);
    const total = this.inputs.reduce((n, t) => n + this.frames(t), 0);
    if (total === 0) {
      this.writer.abandon();
      rmSync(this.opts.target.partPath, { force: true });
      throw new RtcError('RTC_ERR_NO_MEDIA', 'no complete frame was received, nothing was recorded', {
        hint: 'the peer sent packets but never a decodable frame (keyframe); try again',
      });
    }
    let result: { durationMs: number; bytes: number };
    try {
      result = this.writer.finalize();
      renameSync(this.opts.target.partPath, this.opts.target.path);
    } catch (e) {
      this.failWrite(e);
    }
    return result;
  }

  /** Stop without finalizing (an error elsewhere): the `.part` stays, readable up to its last frame. */
  abandon(): void {
    this.done = true;
    this.writer.abandon();
  }

  private trackSpec(t: IncomingTrack): MatroskaTrack {
    const number = this.numbers.get(t)!;
    if (t.kind === 'audio') {
      return { number, kind: 'audio', codecId: MATROSKA_CODEC_ID[t.codec], codecPrivate: opusHead(2), sampleRate: 48000, channels: 2, seekPreRollNs: OPUS_SEEK_PREROLL_NS };
    }
    const first = t.firstFrame!;
    return { number, kind: 'video', codecId: MATROSKA_CODEC_ID[t.codec], codecPrivate: first.avcConfig, width: t.size?.width ?? 640, height: t.size?.height ?? 480 };
  }

  private take(input: IncomingTrack, frame: Frame): void {
    if (this.done) return;
    const timeMs = input.arrivalTimeMs(frame.ticks) - this.zeroArrivalMs;
    // Compare the time the file will carry: the writer rounds to its 1 ms timecode, so a frame at 3999.6 ms would be
    // written at 4000, past a 4 s --duration.
    if (this.opts.durationMs !== undefined && Math.round(timeMs) >= this.opts.durationMs) {
      this.opts.onDurationReached?.();
      return;
    }
    if (input.kind === 'audio') this.audioEndMs = Math.max(this.audioEndMs, timeMs + (opusPacketDurationMs(frame.data) ?? DEFAULT_AUDIO_FRAME_MS));
    this.interleaver.push(this.numbers.get(input)!, { timeMs, frame, input });
  }

  private write(r: Released<Timed>): void {
    if (this.writeError) return;
    const { timeMs, frame, input } = r.item;
    let durationMs: number;
    let explicitDuration = false;
    if (input.kind === 'audio') {
      durationMs = opusPacketDurationMs(frame.data) ?? DEFAULT_AUDIO_FRAME_MS;
    } else if (!r.last) {
      durationMs = r.durationMs ?? this.lastVideoInterval;
      if (r.durationMs !== undefined && r.durationMs > 0) this.lastVideoInterval = r.durationMs;
    } else {
      // The last video frame: shown until the audio ends, if that is close; else for one frame interval.
      const untilAudioEnd = this.audioEndMs - timeMs;
      durationMs = untilAudioEnd > 0 && untilAudioEnd <= MAX_LAST_FRAME_HOLD_MS ? untilAudioEnd : this.lastVideoInterval;
      explicitDuration = true;
    }
    try {
      this.writer.addFrame({ track: r.track, timeMs, keyframe: frame.keyframe, data: frame.data, durationMs, explicitDuration });
    } catch (e) {
      this.writeError = e;
      this.opts.onWriteError?.(e);
    }
  }

  private failWrite(e: unknown): never {
    this.writer.abandon();
    throw new RtcError('RTC_ERR_WRITE', `writing ${this.opts.target.partPath} failed: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      hint: `what was written before the failure is in ${this.opts.target.partPath} (ffmpeg -i <it> -c copy fixed.webm rewrites its index)`,
    });
  }
}
