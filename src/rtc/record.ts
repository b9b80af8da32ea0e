/**
 * `rtc-cli record`: receive what a peer (the companion page, a browser, `rtc-cli publish`) sends and write it to a
 * WebM or Matroska file, frame-exact.
 *
 * The parts:
 * - record-output.ts: the output path and container (.webm / .mkv), and the codecs that container can hold;
 * - media/session.ts: the peer session shared with publish (connect, chat, when to stop, timers);
 * - record-tracks.ts: each remote track, from RTP packets to frames (jitter buffer, loss, A/V alignment, pre-roll);
 * - record-feedback.ts: keyframe requests (PLI) and REMB to the sender;
 * - record-file.ts: the timeline, interleaving and the crash-safe Matroska writer (media/matroska-writer.ts);
 * - this file: the Recorder, which waits for media, starts the file at the first keyframe, and finalizes it.
 */
import { readFileSync } from 'node:fs';
import { RtcError } from '../errors.js';
import type { IceConfig } from './ice-config.js';
import { MediaSession, type StopReason as SessionStop } from './media/session.js';
import type { PeerEvent, PeerSessionOptions } from './peer.js';
import { RecordingFile } from './record-file.js';
import { KEYFRAME_INTERVAL_MS, KeyframeRequests, sendRemb } from './record-feedback.js';
import { checkRemoteVideo, codecLabel, recorderCodecs, validateOutputPath, type Container, type OutputTarget } from './record-output.js';
import { receiveTracks, type IncomingTrack, type MediaKind } from './record-tracks.js';
import { deferred } from './deferred.js';

export { validateOutputPath } from './record-output.js';

export type RecordMedia = 'both' | 'video' | 'audio';

export interface RecordOptions {
  ice: IceConfig;
  signal: string;
  room?: string;
  token?: string;
  /** The .webm or .mkv to write. `<out>.part` is written meanwhile. */
  outPath: string;
  /** Replace an existing file. */
  force?: boolean;
  /** Stop after this much recorded media (ms). Default: until the peer leaves or abort. */
  durationMs?: number;
  media?: RecordMedia;
  /** REMB sent to the peer: how far its video may ramp up (kbps). Default 2500. */
  maxBitrateKbps?: number;
  /** Waiting for a peer, for the connection, and for the first media packet (each). */
  timeoutMs: number;
  abort?: AbortSignal;
  onEvent?: (e: RecordEvent) => void;
  /** How often a `progress` event is emitted. Default 1000 ms. */
  progressIntervalMs?: number;
  chat?: { onMessage?: (text: string) => void; input?: AsyncIterable<string> };
  /** Werift connection extras for tests (e.g. a port range). */
  peerConfig?: Record<string, unknown>;
  /** Test seam: how to reach the signaling server (default: src/signaling/client.ts). */
  connectSignaling?: PeerSessionOptions['connectSignaling'];
  /** Copy/paste signaling (`--signal manual`): where our line goes and the other side's comes from. */
  manual?: PeerSessionOptions['manual'];
}

export interface RecordProgress {
  type: 'progress';
  elapsedSeconds: number;
  bytes: number;
  /** Average over the last interval, kbit/s of muxed media. */
  kbps: number;
  videoFrames: number;
  audioFrames: number;
  packetsLost: number;
}

export type RecordEvent =
  | PeerEvent
  | { type: 'media'; kind: MediaKind; codec: string }
  | { type: 'recording'; path: string; container: Container; video?: { codec: string; width: number; height: number }; audio?: { codec: string } }
  | RecordProgress
  | { type: 'chat'; text: string }
  | { type: 'warning'; message: string }
  | { type: 'stopping'; reason: StopReason };

export type StopReason = 'duration' | 'interrupted' | 'peer-left';

export interface RecordResult {
  path: string;
  container: Container;
  /** End of the last frame in the file (what a player shows), seconds. */
  durationSeconds: number;
  bytes: number;
  video?: { codec: string; width: number; height: number; frames: number; framesDropped: number };
  audio?: { codec: string; frames: number };
  /** RTP packets never received (after NACK retransmissions), RFC 3550 §6.4.1 cumulative loss over all streams. */
  packetsLost: number;
  keyframeRequests: number;
  /** Chat messages exchanged with the page over the data channel. */
  chat: { sent: number; received: number };
  stopReason: StopReason;
  /** How the media flowed: direct (host/srflx) or relayed through TURN. */
  connection: 'direct' | 'relayed';
}

const REMB_INTERVAL_MS = 1000;
const DEFAULT_MAX_BITRATE_KBPS = 2500;
/** The file starts once every track has a usable first frame and at least this much media arrived (alignment samples). */
const MIN_PREROLL_MS = 500;
/** After the first packet, how long we wait for the other track before starting without it. */
const START_GRACE_MS = 3000;
/** After --duration's worth of media, how long we wait for the frames still in flight before stopping anyway. */
const DURATION_SLACK_MS = 1000;

export async function record(opts: RecordOptions): Promise<RecordResult> {
  const target = validateOutputPath(opts.outPath, opts.force); // exit 2 before any network work
  return new Recorder(opts, target).run();
}

class Recorder {
  private readonly tracks: IncomingTrack[] = [];
  private readonly keyframes = new KeyframeRequests();
  private readonly firstPacket = deferred<void>();
  private firstPacketAt = 0;
  private readonly kinds: MediaKind[];
  private file: RecordingFile | undefined;

  constructor(
    private readonly opts: RecordOptions,
    private readonly target: OutputTarget,
  ) {
    const media = opts.media ?? 'both';
    this.kinds = media === 'both' ? ['video', 'audio'] : [media];
  }

  async run(): Promise<RecordResult> {
    const session = await MediaSession.open({
      ...this.opts,
      codecs: await recorderCodecs(this.target.container),
      setup: (pc, role) => receiveTracks(pc, role, this.kinds, this.trackHooks()),
      onEvent: (e) => this.emit(e),
    });
    try {
      const declined = checkRemoteVideo(session.peer.pc.remoteDescription?.sdp, this.target.container, this.kinds.includes('video'));
      if (declined) this.emit({ type: 'warning', message: declined });
      await session.waitFor(this.firstPacket.promise, this.opts.timeoutMs, () => noMedia(this.opts.timeoutMs), 'the peer left before sending media');
      this.startRemb(session);
      const inputs = await this.waitForStart(session);
      this.startFile(session, inputs);
      const reason = await session.stopReason;
      return this.finish(session, reason);
    } catch (e) {
      this.file?.abandon();
      throw e;
    } finally {
      await session.close();
    }
  }

  private emit(e: RecordEvent): void {
    this.opts.onEvent?.(e);
  }

  private trackHooks(): Parameters<typeof receiveTracks>[3] {
    return {
      onTrack: (t) => this.tracks.push(t),
      onUnsupported: (kind, mimeType) => this.emit({ type: 'warning', message: `the peer's ${kind} codec ${mimeType} cannot be recorded; that track is skipped` }),
      onFirstPacket: (t) => {
        this.emit({ type: 'media', kind: t.kind, codec: codecLabel(t.codec) });
        if (t.kind === 'video') this.keyframes.request(t, true);
        if (!this.firstPacketAt) this.firstPacketAt = performance.now();
        this.firstPacket.resolve();
      },
      onNeedKeyframe: (t) => this.keyframes.request(t),
    };
  }

  private videoTracks(): IncomingTrack[] {
    return this.tracks.filter((t) => t.kind === 'video');
  }

  /** REMB from the first packet on: the sender may ramp up to --max-bitrate. */
  private startRemb(session: MediaSession): void {
    const bps = (this.opts.maxBitrateKbps ?? DEFAULT_MAX_BITRATE_KBPS) * 1000;
    const send = (): void => void sendRemb(this.videoTracks(), bps);
    send();
    session.every(REMB_INTERVAL_MS, send);
  }

  /**
   * The pre-roll: wait until every wanted kind sends, every track has a usable first frame (video: a keyframe) and
   * MIN_PREROLL_MS of media gave the alignment its samples. After START_GRACE_MS a track with nothing usable is left out; a video
   * track still without a keyframe is waited for (keyframe requests are going out) until --timeout.
   */
  private async waitForStart(session: MediaSession): Promise<IncomingTrack[]> {
    for (;;) {
      const waited = performance.now() - this.firstPacketAt;
      const live = this.tracks.filter((t) => t.packets > 0);
      const usable = live.filter((t) => t.firstFrame !== undefined);
      const allKinds = this.kinds.every((k) => live.some((t) => t.kind === k));
      if (usable.length === live.length && allKinds && waited >= MIN_PREROLL_MS) return usable;
      if (waited >= START_GRACE_MS) {
        const videoPending = live.some((t) => t.kind === 'video' && !t.firstFrame);
        if (usable.length && (!videoPending || waited >= this.opts.timeoutMs)) {
          for (const t of live.filter((x) => !x.firstFrame)) {
            this.emit({ type: 'warning', message: `no usable ${t.kind} frame within ${(waited / 1000).toFixed(1)} s; recording without it` });
          }
          return usable;
        }
        if (!usable.length && waited >= this.opts.timeoutMs) {
          throw new RtcError('RTC_ERR_NO_MEDIA', `no decodable frame (video keyframe) arrived within ${this.opts.timeoutMs / 1000} s`, {
            hint: 'the peer sends packets but no keyframe: check its encoder, or raise --timeout',
          });
        }
      }
      await session.waitFor(sleep(50), 1000, () => undefined, 'the peer left before anything was recorded');
    }
  }

  private startFile(session: MediaSession, inputs: IncomingTrack[]): void {
    const file = new RecordingFile(inputs, {
      target: this.target,
      writingApp: `rtc-cli ${packageVersion()}`,
      durationMs: this.opts.durationMs,
      onDurationReached: () => session.stop('duration'),
      onWriteError: () => session.stop('end'),
    });
    this.file = file;
    file.start();
    const video = inputs.find((t) => t.kind === 'video');
    const audio = inputs.find((t) => t.kind === 'audio');
    const size = video?.size;
    this.emit({
      type: 'recording',
      path: this.target.path,
      container: this.target.container,
      video: video ? { codec: codecLabel(video.codec), width: size?.width ?? 640, height: size?.height ?? 480 } : undefined,
      audio: audio ? { codec: codecLabel(audio.codec) } : undefined,
    });
    if (video) session.every(KEYFRAME_INTERVAL_MS, () => this.keyframes.request(video, true));
    if (this.opts.durationMs !== undefined) {
      // Normally the first frame past --duration stops us; this covers a sender that went quiet.
      session.after(file.zeroArrivalMs + this.opts.durationMs + DURATION_SLACK_MS - performance.now(), () => session.stop('duration'));
    }
    this.startProgress(session, file);
  }

  private startProgress(session: MediaSession, file: RecordingFile): void {
    let lastBytes = 0;
    let lastT = performance.now();
    session.every(this.opts.progressIntervalMs ?? 1000, () => {
      const now = performance.now();
      const bytes = file.bytes;
      const kbps = ((bytes - lastBytes) * 8) / Math.max(1, now - lastT);
      lastBytes = bytes;
      lastT = now;
      const count = (kind: MediaKind): number => this.tracks.filter((t) => t.kind === kind).reduce((n, t) => n + file.frames(t), 0);
      this.emit({ type: 'progress', elapsedSeconds: (now - file.zeroArrivalMs) / 1000, bytes, kbps, videoFrames: count('video'), audioFrames: count('audio'), packetsLost: this.lost() });
    });
  }

  private lost(): number {
    return this.tracks.reduce((n, t) => n + t.loss.lost, 0);
  }

  private finish(session: MediaSession, reason: SessionStop): RecordResult {
    const file = this.file!;
    const stopReason: StopReason = reason === 'end' ? 'interrupted' : reason;
    this.emit({ type: 'stopping', reason: stopReason });
    const { durationMs, bytes } = file.finish();
    const inFile = (t: IncomingTrack | undefined): IncomingTrack | undefined => (t && file.frames(t) > 0 ? t : undefined);
    const video = inFile(this.tracks.find((t) => t.kind === 'video'));
    const audio = inFile(this.tracks.find((t) => t.kind === 'audio'));
    const size = video?.size;
    return {
      path: this.target.path,
      container: this.target.container,
      durationSeconds: Math.round(durationMs) / 1000,
      bytes,
      video: video ? { codec: codecLabel(video.codec), width: size?.width ?? 640, height: size?.height ?? 480, frames: file.frames(video), framesDropped: video.dropped } : undefined,
      audio: audio ? { codec: codecLabel(audio.codec), frames: file.frames(audio) } : undefined,
      packetsLost: this.lost(),
      keyframeRequests: this.keyframes.count,
      chat: session.chatCounts,
      stopReason,
      connection: session.connection,
    };
  }
}

function noMedia(timeoutMs: number): RtcError {
  return new RtcError('RTC_ERR_NO_MEDIA', `the peer connected but sent no media within ${timeoutMs / 1000} s`, {
    hint: 'start the camera on the page (or pass a source to publish), and check that it sends video/audio',
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let version: string | undefined;
function packageVersion(): string {
  try {
    version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = 'unknown';
  }
  return version;
}
