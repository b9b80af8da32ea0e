/**
 * A streaming Matroska/WebM writer (RFC 9559; WebM is its subset with DocType "webm") that stays readable if the
 * process dies at any moment, and is a complete, indexed file once finalized.
 *
 * Why our own and not werift's or mediabunny's: werift's writer (werift.md) loses frames at cluster starts, writes a
 * wrong Segment size and wrong cue positions and no SeekHead. mediabunny's muxer, when it is not append-only, writes
 * the Segment with a small provisional size (the header's) and fixes it at the end, so a file cut by `kill -9` claims
 * to end before its first cluster; in append-only mode it never writes sizes, cues or a duration. EBML is small; the
 * crash-safety contract below is easier to keep in 300 lines we own.
 *
 * Layout (positions in brackets are patched in place by finalize()):
 *
 *   EBML header (DocType webm|matroska)
 *   Segment [size: 8-byte VINT, "unknown" until finalized]
 *     SeekHead [rewritten: Info, Tracks, later Cues and Tags] + Void padding (fixed-size region)
 *     Info (TimestampScale 1 ms, apps, DateUTC) + [Void of 11 bytes → Duration]
 *     Tracks
 *     Cluster [size: 8-byte VINT, "unknown" until the next cluster starts] Timestamp, SimpleBlock…
 *     …
 *     Cues  (written by finalize: one CuePoint per cluster that starts with a video keyframe, or per cluster for audio)
 *     Tags  (written by finalize: per-track DURATION, as ffmpeg writes them)
 *
 * Crash safety: every frame is written to the file when it is added (one pwrite), and only sizes that are final are
 * ever written; everything still growing says "unknown size" (RFC 8794 §6.2), which readers handle like a live stream.
 * So a `.part` cut at any byte decodes up to its last complete block.
 *
 * Time: TimestampScale is 1 ms (the WebM default). Each frame's time comes in as an exact number of milliseconds from
 * the caller and is rounded once, here; nothing accumulates rounding.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  ID,
  UNKNOWN_SIZE_8,
  element,
  floatElement,
  idBytes,
  intElement,
  sizeVint,
  stringElement,
  uintElement,
  voidElement,
} from './ebml.js';

export interface MatroskaTrack {
  /** 1-based track number as written in blocks. */
  number: number;
  kind: 'video' | 'audio';
  /** Matroska codec ID: V_VP8, V_VP9, V_MPEG4/ISO/AVC, A_OPUS. */
  codecId: string;
  codecPrivate?: Buffer;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** Opus: CodecDelay and SeekPreRoll (ns), RFC 9559 §5.1.4.1.15 / Matroska codec mapping for A_OPUS. */
  codecDelayNs?: number;
  seekPreRollNs?: number;
}

export interface MatroskaWriterOptions {
  path: string;
  docType: 'webm' | 'matroska';
  tracks: MatroskaTrack[];
  writingApp: string;
  /** DateUTC of the Segment (when the recording started). */
  date?: Date;
  /** Start a new cluster after this long even without a keyframe (audio-only files, long GOPs). Default 5000 ms. */
  maxClusterMs?: number;
}

export interface MatroskaFrame {
  track: number;
  /** Presentation time in ms from the start of the file (exact; rounded here). */
  timeMs: number;
  keyframe: boolean;
  data: Buffer;
  /** How long the frame lasts (ms), for the track's end time and, with `explicitDuration`, a BlockDuration. */
  durationMs?: number;
  /** Write the frame in a BlockGroup with its BlockDuration (the last video frame, so both tracks end together). */
  explicitDuration?: boolean;
}

/** Reserved bytes for the SeekHead and its Void padding: 4 Seek entries of at most 21 bytes + header, with room. */
const SEEKHEAD_REGION = 100;
/** A Duration element (ID 2 bytes, size 1, float 8) takes 11 bytes: the Void that reserves it takes as many. */
const DURATION_BYTES = 11;
const MAX_REL_MS = 32767;
const MIN_REL_MS = -32768;
/** 2001-01-01T00:00:00Z, the epoch of Matroska's DateUTC (RFC 9559 §5.1.2.9). */
const MATROSKA_EPOCH_MS = Date.UTC(2001, 0, 1);

interface Cue {
  timeMs: number;
  track: number;
  clusterPos: number;
  relPos: number;
}

export class MatroskaWriter {
  private fd: number | undefined;
  private pos = 0;
  private segmentSizePos = 0;
  private segmentDataStart = 0;
  private seekHeadPos = 0;
  private infoPos = 0;
  private durationPos = 0;
  private tracksPos = 0;
  private cluster: { sizePos: number; dataStart: number; timeMs: number } | undefined;
  private readonly cues: Cue[] = [];
  private readonly trackEnds = new Map<number, number>();
  private readonly lastVideoTime = new Map<number, number>();
  private readonly counts = new Map<number, number>();
  private readonly uids: Map<number, bigint>;
  private readonly videoTracks: Set<number>;
  private readonly maxClusterMs: number;
  private finalized = false;

  private constructor(private readonly opts: MatroskaWriterOptions) {
    this.maxClusterMs = opts.maxClusterMs ?? 5000;
    // TrackUIDs: random 56-bit values (RFC 9559 §5.1.4.1.2 asks for unique non-zero ones).
    this.uids = new Map(opts.tracks.map((t) => [t.number, (randomBytes(8).readBigUInt64BE(0) >> 8n) | 1n]));
    this.videoTracks = new Set(opts.tracks.filter((t) => t.kind === 'video').map((t) => t.number));
  }

  /** Create (truncate) the file and write everything up to the first cluster. Throws the fs error on failure. */
  static open(opts: MatroskaWriterOptions): MatroskaWriter {
    const w = new MatroskaWriter(opts);
    w.fd = openSync(opts.path, 'w');
    try {
      w.writeHeader();
    } catch (e) {
      w.abandon();
      throw e;
    }
    return w;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.pos;
  }

  /** Frames written to `track`. */
  frames(track: number): number {
    return this.counts.get(track) ?? 0;
  }

  /** End of the track's last frame (ms): its time plus its duration. */
  trackEndMs(track: number): number | undefined {
    return this.trackEnds.get(track);
  }

  addFrame(f: MatroskaFrame): void {
    if (this.finalized) throw new Error('the Matroska writer is finalized');
    const t = Math.max(0, Math.round(f.timeMs));
    const isVideo = this.videoTracks.has(f.track);
    // Clusters start at video keyframes (so each cue is a cluster start), and at least every maxClusterMs.
    if (!this.cluster || (isVideo && f.keyframe) || this.clusterTooOld(t) || t - this.cluster.timeMs < MIN_REL_MS) {
      this.startCluster(t);
      // A cue where a decoder can start: a video keyframe, or for audio-only files every cluster (RFC 9559 §22.1).
      if ((isVideo && f.keyframe) || this.videoTracks.size === 0) {
        this.cues.push({ timeMs: t, track: f.track, clusterPos: this.clusterPosInSegment(), relPos: this.pos - this.cluster!.dataStart });
      }
    }
    const rel = t - this.cluster!.timeMs;
    this.write(f.explicitDuration ? this.blockGroup(f, rel, t) : this.simpleBlock(f, rel));
    this.counts.set(f.track, this.frames(f.track) + 1);
    const end = t + Math.max(0, Math.round(f.durationMs ?? 0));
    this.trackEnds.set(f.track, Math.max(end, this.trackEnds.get(f.track) ?? 0));
    if (isVideo) this.lastVideoTime.set(f.track, t);
  }

  /**
   * Close the last cluster, append Cues and Tags, and patch the SeekHead, Duration and Segment size. Returns the
   * duration written (the end of the last frame of any track, ms). The file is fsynced and closed.
   */
  finalize(): { durationMs: number; bytes: number } {
    if (this.finalized) throw new Error('the Matroska writer is already finalized');
    this.finalized = true;
    this.closeCluster();
    const cuesPos = this.pos;
    if (this.cues.length) this.write(this.cuesElement());
    const tagsPos = this.pos;
    this.write(this.tagsElement());
    const durationMs = Math.max(0, ...this.trackEnds.values());
    this.writeAt(this.durationPos, floatElement(ID.Duration, durationMs));
    const seeks: [number, number][] = [
      [ID.Info, this.infoPos],
      [ID.Tracks, this.tracksPos],
      [ID.Tags, tagsPos],
    ];
    if (this.cues.length) seeks.splice(2, 0, [ID.Cues, cuesPos]);
    this.writeAt(this.seekHeadPos, this.seekHeadRegion(seeks));
    this.writeAt(this.segmentSizePos, sizeVint(this.pos - this.segmentDataStart, 8));
    fsyncSync(this.fd!);
    const bytes = this.pos;
    this.abandon();
    return { durationMs, bytes };
  }

  /** Close the file without finalizing: what is on disk stays a readable stream (the crash-safe state). */
  abandon(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }

  // ------------------------------------------------------------------------------------------------------ layout

  private writeHeader(): void {
    const o = this.opts;
    this.write(
      element(ID.EBML, [
        uintElement(ID.EBMLVersion, 1),
        uintElement(ID.EBMLReadVersion, 1),
        uintElement(ID.EBMLMaxIDLength, 4),
        uintElement(ID.EBMLMaxSizeLength, 8),
        stringElement(ID.DocType, o.docType),
        // Version 4: CodecDelay and SeekPreRoll (Opus) are v4 elements; readers need v2 (SimpleBlock, BlockGroup).
        uintElement(ID.DocTypeVersion, 4),
        uintElement(ID.DocTypeReadVersion, 2),
      ]),
    );
    this.write(idBytes(ID.Segment));
    this.segmentSizePos = this.pos;
    this.write(UNKNOWN_SIZE_8);
    this.segmentDataStart = this.pos;
    this.seekHeadPos = this.pos;
    // Info and Tracks follow the fixed-size SeekHead region, so their positions are known before they are written.
    const info = this.infoElement();
    this.infoPos = this.pos + SEEKHEAD_REGION;
    this.tracksPos = this.infoPos + info.element.length;
    this.write(this.seekHeadRegion([
      [ID.Info, this.infoPos],
      [ID.Tracks, this.tracksPos],
    ]));
    this.durationPos = this.infoPos + info.durationOffset;
    this.write(info.element);
    this.write(this.tracksElement());
  }

  private infoElement(): { element: Buffer; durationOffset: number } {
    const date = this.opts.date ?? new Date();
    const head = Buffer.concat([
      uintElement(ID.TimestampScale, 1_000_000),
      stringElement(ID.MuxingApp, this.opts.writingApp),
      stringElement(ID.WritingApp, this.opts.writingApp),
      intElement(ID.DateUTC, BigInt(date.getTime() - MATROSKA_EPOCH_MS) * 1_000_000n),
    ]);
    // The Duration is unknown until the end: reserve its 11 bytes with a Void, overwritten by finalize().
    const body = Buffer.concat([head, voidElement(DURATION_BYTES)]);
    const el = element(ID.Info, body);
    return { element: el, durationOffset: el.length - DURATION_BYTES };
  }

  private tracksElement(): Buffer {
    return element(
      ID.Tracks,
      this.opts.tracks.map((t) => {
        const children = [
          uintElement(ID.TrackNumber, t.number),
          uintElement(ID.TrackUID, this.uids.get(t.number)!),
          uintElement(ID.TrackType, t.kind === 'video' ? 1 : 2),
          uintElement(ID.FlagLacing, 0),
          stringElement(ID.CodecID, t.codecId),
        ];
        if (t.codecPrivate) children.push(element(ID.CodecPrivate, t.codecPrivate));
        if (t.codecDelayNs !== undefined) children.push(uintElement(ID.CodecDelay, t.codecDelayNs));
        if (t.seekPreRollNs !== undefined) children.push(uintElement(ID.SeekPreRoll, t.seekPreRollNs));
        if (t.kind === 'video') {
          children.push(element(ID.Video, [uintElement(ID.PixelWidth, t.width ?? 0), uintElement(ID.PixelHeight, t.height ?? 0)]));
        } else {
          children.push(element(ID.Audio, [floatElement(ID.SamplingFrequency, t.sampleRate ?? 48000), uintElement(ID.Channels, t.channels ?? 2)]));
        }
        return element(ID.TrackEntry, children);
      }),
    );
  }

  /** The SeekHead (RFC 9559 §5.1.1) listing `seeks`, padded with a Void to exactly SEEKHEAD_REGION bytes. */
  private seekHeadRegion(seeks: [number, number][]): Buffer {
    const head = element(
      ID.SeekHead,
      seeks.map(([id, pos]) => element(ID.Seek, [element(ID.SeekID, idBytes(id)), uintElement(ID.SeekPosition, pos - this.segmentDataStart)])),
    );
    return Buffer.concat([head, voidElement(SEEKHEAD_REGION - head.length)]);
  }

  private clusterTooOld(t: number): boolean {
    return this.cluster !== undefined && t - this.cluster.timeMs >= Math.min(this.maxClusterMs, MAX_REL_MS);
  }

  private startCluster(timeMs: number): void {
    this.closeCluster();
    this.write(idBytes(ID.Cluster));
    const sizePos = this.pos;
    this.write(UNKNOWN_SIZE_8);
    this.cluster = { sizePos, dataStart: this.pos, timeMs };
    this.write(uintElement(ID.Timestamp, timeMs));
  }

  /** Patch the open cluster's size: from here on it is a finished, known-size element. */
  private closeCluster(): void {
    if (!this.cluster) return;
    this.writeAt(this.cluster.sizePos, sizeVint(this.pos - this.cluster.dataStart, 8));
    this.cluster = undefined;
  }

  private clusterPosInSegment(): number {
    // The cluster's ID starts 4 + 8 bytes before its data.
    return this.cluster!.dataStart - 12 - this.segmentDataStart;
  }

  /** SimpleBlock (RFC 9559 §10.2): track VINT, int16 time relative to the cluster, flags (0x80 = keyframe), data. */
  private simpleBlock(f: MatroskaFrame, rel: number): Buffer {
    const head = Buffer.alloc(4);
    head[0] = 0x80 | f.track; // track numbers < 127: a 1-byte VINT
    head.writeInt16BE(clampRel(rel), 1);
    head[3] = f.keyframe ? 0x80 : 0x00;
    return Buffer.concat([idBytes(ID.SimpleBlock), sizeVint(head.length + f.data.length), head, f.data]);
  }

  /** BlockGroup with Block, BlockDuration and, for a delta frame, the ReferenceBlock it depends on (RFC 9559 §10.1). */
  private blockGroup(f: MatroskaFrame, rel: number, t: number): Buffer {
    const head = Buffer.alloc(4);
    head[0] = 0x80 | f.track;
    head.writeInt16BE(clampRel(rel), 1);
    head[3] = 0;
    const children = [element(ID.Block, [head, f.data]), uintElement(ID.BlockDuration, Math.max(0, Math.round(f.durationMs ?? 0)))];
    const prev = this.lastVideoTime.get(f.track);
    if (!f.keyframe && prev !== undefined) children.push(intElement(ID.ReferenceBlock, prev - t));
    return element(ID.BlockGroup, children);
  }

  private cuesElement(): Buffer {
    return element(
      ID.Cues,
      this.cues.map((c) =>
        element(ID.CuePoint, [
          uintElement(ID.CueTime, c.timeMs),
          element(ID.CueTrackPositions, [uintElement(ID.CueTrack, c.track), uintElement(ID.CueClusterPosition, c.clusterPos), uintElement(ID.CueRelativePosition, c.relPos)]),
        ]),
      ),
    );
  }

  /** Per-track DURATION tags ("HH:MM:SS.nnnnnnnnn"), the end of each track's last frame, as ffmpeg writes them. */
  private tagsElement(): Buffer {
    return element(
      ID.Tags,
      this.opts.tracks.map((t) =>
        element(ID.Tag, [
          element(ID.Targets, [uintElement(ID.TagTrackUID, this.uids.get(t.number)!)]),
          element(ID.SimpleTag, [stringElement(ID.TagName, 'DURATION'), stringElement(ID.TagString, formatDuration(this.trackEnds.get(t.number) ?? 0))]),
        ]),
      ),
    );
  }

  private write(buf: Buffer): void {
    this.writeAt(this.pos, buf);
    this.pos += buf.length;
  }

  private writeAt(pos: number, buf: Buffer): void {
    if (this.fd === undefined) throw new Error('the Matroska file is closed');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, pos + off);
  }
}

function clampRel(rel: number): number {
  return Math.max(MIN_REL_MS, Math.min(MAX_REL_MS, rel));
}

/** 00:01:02.345000000 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const frac = String(total % 1000).padStart(3, '0') + '000000';
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${frac}`;
}
