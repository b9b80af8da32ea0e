/**
 * `rtc-cli publish`: send a VP8 IVF, a VP8/Opus WebM or the built-in test pattern to the peer in the room (the
 * companion page, a browser, `rtc-cli record`), in real time, optionally looping. The reverse of record: a browser
 * can be tested with no camera.
 *
 * The parts: publish-source.ts reads the file, publish-schedule.ts decides which frame is due when (and skips to a
 * keyframe on request), publish-feedback.ts reads the receiver's RTCP and writes RTP, media/session.ts is the peer
 * session shared with record. The test pattern has a keyframe every second.
 */
import type { IceConfig } from './ice-config.js';
import { MediaSession } from './media/session.js';
import type { PeerEvent, PeerSessionOptions } from './peer.js';
import { RtpStream, SenderFeedback, sourceKbps } from './publish-feedback.js';
import { PublishSchedule } from './publish-schedule.js';
import { loadSource } from './publish-source.js';

export interface PublishOptions {
  ice: IceConfig;
  signal: string;
  room: string;
  token?: string;
  /** An .ivf or .webm path, or "testsrc". */
  input: string;
  loop?: boolean;
  /** Stop after this long (ms), looping or not. */
  durationMs?: number;
  timeoutMs: number;
  abort?: AbortSignal;
  onEvent?: (e: PublishEvent) => void;
  progressIntervalMs?: number;
  chat?: { onMessage?: (text: string) => void; input?: AsyncIterable<string> };
  connectSignaling?: PeerSessionOptions['connectSignaling'];
  /** Copy/paste signaling (`--signal manual`): where our line goes and the other side's comes from. */
  manual?: PeerSessionOptions['manual'];
}

export type PublishEvent =
  | PeerEvent
  | { type: 'source'; name: string; video?: { codec: string; width: number; height: number; frames: number }; audio?: { codec: string; frames: number }; durationSeconds: number }
  | { type: 'progress'; elapsedSeconds: number; videoFrames: number; audioFrames: number; loops: number; keyframeRequests: number; rembKbps?: number }
  | { type: 'keyframe-request'; skippedFrames: number }
  | { type: 'remb-below-source'; rembKbps: number; sourceKbps: number }
  | { type: 'chat'; text: string };

export interface PublishResult {
  source: string;
  durationSeconds: number;
  video?: { codec: string; width: number; height: number; framesSent: number };
  audio?: { codec: string; framesSent: number };
  loops: number;
  keyframeRequests: number;
  /** The receiver's last REMB estimate, if it sent one. */
  rembKbps?: number;
  stopReason: 'end' | 'duration' | 'interrupted' | 'peer-left';
  connection: 'direct' | 'relayed';
  chat: { sent: number; received: number };
}

/** Wake at least this often, so keyframe requests are served quickly. */
const MAX_TICK_MS = 20;

async function publisherCodecs() {
  const { RTCRtpCodecParameters } = await import('werift');
  return {
    video: [
      new RTCRtpCodecParameters({
        mimeType: 'video/VP8',
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }],
      }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
  };
}

export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const src = loadSource(opts.input); // exit 2 before any network work
  const emit = (e: PublishEvent): void => opts.onEvent?.(e);
  emit({
    type: 'source',
    name: src.name,
    video: src.video ? { codec: src.video.codec, width: src.video.width, height: src.video.height, frames: src.video.frames.length } : undefined,
    audio: src.audio ? { codec: src.audio.codec, frames: src.audio.frames.length } : undefined,
    durationSeconds: src.durationMs / 1000,
  });
  const werift = await import('werift');
  const feedback = new SenderFeedback(sourceKbps(src), (rembKbps, fileKbps) => emit({ type: 'remb-below-source', rembKbps, sourceKbps: fileKbps }));
  const streams: { video?: RtpStream; audio?: RtpStream } = {};
  const session = await MediaSession.open({
    ...opts,
    codecs: await publisherCodecs(),
    onEvent: (e) => emit(e),
    setup: (pc) => {
      if (src.video) {
        streams.video = new RtpStream(werift, new werift.MediaStreamTrack({ kind: 'video' }), 'video');
        feedback.listen(pc.addTransceiver(streams.video.track, { direction: 'sendonly' }).sender);
      }
      if (src.audio) {
        streams.audio = new RtpStream(werift, new werift.MediaStreamTrack({ kind: 'audio' }), 'audio');
        pc.addTransceiver(streams.audio.track, { direction: 'sendonly' });
      }
    },
  });
  try {
    const schedule = new PublishSchedule(src, Boolean(opts.loop));
    const start = performance.now() + 50;
    if (opts.durationMs !== undefined) session.stopAfter(opts.durationMs);
    const sender = new FrameSender(session, schedule, streams, feedback, emit, opts.progressIntervalMs ?? 1000);
    sender.run(start);
    const stopReason = await session.stopReason;
    const elapsed = (performance.now() - start) / 1000;
    return {
      source: src.name,
      durationSeconds: Math.round(elapsed * 1000) / 1000,
      video: src.video ? { codec: src.video.codec, width: src.video.width, height: src.video.height, framesSent: streams.video?.sent ?? 0 } : undefined,
      audio: src.audio ? { codec: src.audio.codec, framesSent: streams.audio?.sent ?? 0 } : undefined,
      loops: schedule.loops === Infinity ? 0 : schedule.loops,
      keyframeRequests: feedback.keyframeRequests,
      rembKbps: feedback.rembKbps,
      stopReason,
      connection: session.connection,
      chat: session.chatCounts,
    };
  } finally {
    await session.close();
  }
}

/** The send loop: wake when a frame is due (or every MAX_TICK_MS), serve keyframe requests, send, report progress. */
class FrameSender {
  private lastProgress = -Infinity;

  constructor(
    private readonly session: MediaSession,
    private readonly schedule: PublishSchedule,
    private readonly streams: { video?: RtpStream; audio?: RtpStream },
    private readonly feedback: SenderFeedback,
    private readonly emit: (e: PublishEvent) => void,
    private readonly progressMs: number,
  ) {}

  run(start: number): void {
    this.session.after(start - performance.now(), () => this.tick(start));
  }

  private tick(start: number): void {
    if (this.session.isStopped) return;
    const now = performance.now() - start;
    if (this.feedback.takeKeyframeRequest()) {
      const skipped = this.schedule.skipToKeyframe();
      if (skipped > 0) this.emit({ type: 'keyframe-request', skippedFrames: skipped });
    }
    for (const d of this.schedule.takeDue(now)) {
      if (d.kind === 'video' && d.frame.keyframe) this.feedback.keyframeSent();
      this.streams[d.kind]?.send(d.frame, d.atMs);
    }
    if (this.schedule.finished) {
      this.session.stop('end');
      return;
    }
    if (now - this.lastProgress >= this.progressMs) {
      this.lastProgress = now;
      this.emit({
        type: 'progress',
        elapsedSeconds: now / 1000,
        videoFrames: this.streams.video?.sent ?? 0,
        audioFrames: this.streams.audio?.sent ?? 0,
        loops: this.schedule.loops,
        keyframeRequests: this.feedback.keyframeRequests,
        rembKbps: this.feedback.rembKbps,
      });
    }
    this.session.after(this.schedule.nextWakeMs(now, MAX_TICK_MS), () => this.tick(start));
  }
}
