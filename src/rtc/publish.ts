/**
 * `rtc-cli publish`: send a VP8 IVF, a VP8/Opus WebM or the built-in test pattern to the peer in the room (the
 * companion page, a browser, `rtc-cli record`), in real time, optionally looping. The reverse of record: a browser
 * can be tested with no camera.
 *
 * Feedback from the receiver (RFC 4585):
 * - PLI / FIR (keyframe request): the frames are pre-encoded, so we cannot encode a new keyframe; we skip the video
 *   forward to the next keyframe of the file and send it at once (its RTP timestamp keeps following the clock, so the
 *   receiver sees a few dropped frames, not a stall). The test pattern has a keyframe every second.
 * - NACK: werift's sender retransmits from its history by itself.
 * - REMB: reported in progress events and the result. A pre-encoded stream cannot change its bitrate; when the
 *   estimate stays below the file's own video bitrate we say so (a warning event) instead of pretending.
 */
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpSender } from 'werift';
import { interruptError } from '../errors.js';
import type { IceConfig } from './ice-config.js';
import { connectPeer, type PeerEvent, type PeerSession, type PeerSessionOptions } from './peer.js';
import { attachChat, type Chat } from './record-chat.js';
import { classifyRtcp } from './rtcp.js';
import { loadSource, packetizeVp8, type Frame, type MediaSource } from './publish-source.js';

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

/** A keyframe request within this long of the previous one is served by the same skip. */
const KEYFRAME_REQUEST_MIN_GAP_MS = 300;
/** A keyframe sent this recently answers a new request (one RTT plus decode time, generously). */
const KEYFRAME_JUST_SENT_MS = 300;

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

function sourceKbps(src: MediaSource): number | undefined {
  const v = src.video;
  if (!v || src.durationMs <= 0) return undefined;
  const bytes = v.frames.reduce((n, f) => n + f.data.length, 0);
  return (bytes * 8) / src.durationMs;
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
  if (opts.abort?.aborted) throw interruptError(opts.abort.reason);
  const { MediaStreamTrack: Track, RtpHeader, RtpPacket } = await import('werift');
  const codecs = await publisherCodecs();
  let videoTrack: MediaStreamTrack | undefined;
  let audioTrack: MediaStreamTrack | undefined;
  let videoSender: RTCRtpSender | undefined;
  let chat: Chat | undefined;
  let keyframeRequests = 0;
  let pendingKeyframe = false;
  let lastKeyframeRequest = 0;
  let rembKbps: number | undefined;
  let rembWarned = false;
  const fileKbps = sourceKbps(src);

  const setup = (pc: RTCPeerConnection): void => {
    if (src.video) {
      videoTrack = new Track({ kind: 'video' });
      videoSender = pc.addTransceiver(videoTrack, { direction: 'sendonly' }).sender;
      videoSender.onRtcp.subscribe((packet) => {
        for (const fb of classifyRtcp(packet)) {
          if (fb.kind === 'keyframe') {
            const now = Date.now();
            if (now - lastKeyframeRequest >= KEYFRAME_REQUEST_MIN_GAP_MS) {
              lastKeyframeRequest = now;
              keyframeRequests += 1;
              pendingKeyframe = true;
            }
          } else if (fb.kind === 'remb') {
            rembKbps = fb.bps / 1000;
            if (fileKbps !== undefined && rembKbps < fileKbps * 0.8 && !rembWarned) {
              rembWarned = true;
              emit({ type: 'remb-below-source', rembKbps, sourceKbps: fileKbps });
            }
          }
        }
      });
    }
    if (src.audio) {
      audioTrack = new Track({ kind: 'audio' });
      pc.addTransceiver(audioTrack, { direction: 'sendonly' });
    }
    chat = attachChat(pc, {
      onMessage: (text) => {
        emit({ type: 'chat', text });
        opts.chat?.onMessage?.(text);
      },
      input: opts.chat?.input,
    });
  };

  let session: PeerSession | undefined;
  const timers: NodeJS.Timeout[] = [];
  let tickTimer: NodeJS.Timeout | undefined;
  try {
    session = await connectPeer({
      ice: opts.ice,
      signal: opts.signal,
      room: opts.room,
      token: opts.token,
      timeoutMs: opts.timeoutMs,
      abort: opts.abort,
      setup,
      onEvent: (e) => emit(e),
      // max-bundle: one ICE transport for every m-line (werift leaves the sockets of unused un-bundled transports open).
      peerConfig: { codecs, bundlePolicy: 'max-bundle' },
      connectSignaling: opts.connectSignaling,
      manual: opts.manual,
    });
    const s = session;

    // One schedule for both tracks: frames are due at start + loop * duration + frame time.
    const start = Date.now() + 50;
    let videoFrames = 0;
    let audioFrames = 0;
    let loops = 0;
    let vIdx = 0;
    let aIdx = 0;
    /** ms added to the video schedule by keyframe skips (the video content runs ahead of the clock by this). */
    let videoSkewMs = 0;
    let vSeq = Math.floor(Math.random() * 0xffff);
    let aSeq = Math.floor(Math.random() * 0xffff);
    const vTs0 = Math.floor(Math.random() * 0xffffffff);
    const aTs0 = Math.floor(Math.random() * 0xffffffff);
    let lastKeyframeSentAt = 0;
    const vFrames = src.video?.frames ?? [];
    const aFrames = src.audio?.frames ?? [];

    const sendVideo = (f: Frame, atMs: number): void => {
      const ts = (vTs0 + Math.round(atMs * 90)) >>> 0; // 90 kHz clock (RFC 7741 §4.1)
      if (f.keyframe) lastKeyframeSentAt = Date.now();
      const parts = packetizeVp8(f.data);
      parts.forEach((payload, i) => {
        const header = new RtpHeader({ payloadType: 96, sequenceNumber: vSeq, timestamp: ts, marker: i === parts.length - 1 });
        vSeq = (vSeq + 1) & 0xffff;
        videoTrack!.writeRtp(new RtpPacket(header, payload));
      });
      videoFrames += 1;
    };
    const sendAudio = (f: Frame, atMs: number): void => {
      const ts = (aTs0 + Math.round(atMs * 48)) >>> 0; // 48 kHz (RFC 7587 §4.1)
      const header = new RtpHeader({ payloadType: 111, sequenceNumber: aSeq, timestamp: ts, marker: false });
      aSeq = (aSeq + 1) & 0xffff;
      audioTrack!.writeRtp(new RtpPacket(header, f.data));
      audioFrames += 1;
    };

    let progressLast = 0;
    const progressMs = opts.progressIntervalMs ?? 1000;
    const stopReason = await new Promise<PublishResult['stopReason']>((resolveStop) => {
      let done = false;
      const finish = (r: PublishResult['stopReason']): void => {
        if (done) return;
        done = true;
        resolveStop(r);
      };
      if (opts.durationMs !== undefined) timers.push(setTimeout(() => finish('duration'), opts.durationMs));
      if (opts.abort?.aborted) finish('interrupted');
      opts.abort?.addEventListener('abort', () => finish('interrupted'), { once: true });
      void s.peerLeft.then(() => finish('peer-left'));
      const tick = (): void => {
        if (done) return;
        const now = Date.now() - start;
        // A keyframe request: jump to the next keyframe of the file and send it now.
        // A request that arrives right after we sent a keyframe is answered by that keyframe (the receiver asked
        // before it arrived, e.g. the recorder's PLI on its first packet): skipping content would only lose frames.
        if (pendingKeyframe && Date.now() - lastKeyframeSentAt < KEYFRAME_JUST_SENT_MS) pendingKeyframe = false;
        if (pendingKeyframe && vFrames.length) {
          pendingKeyframe = false;
          let k = vIdx;
          while (k < vFrames.length && !vFrames[k]!.keyframe) k++;
          if (k >= vFrames.length) k = vFrames.findIndex((f) => f.keyframe) + vFrames.length; // wraps into the next loop
          const skipped = k - vIdx;
          if (skipped > 0) {
            const target = vFrames[k % vFrames.length]!.timeMs + Math.floor(k / vFrames.length) * src.durationMs;
            const current = vFrames[vIdx % vFrames.length]!.timeMs;
            videoSkewMs += target - current;
            vIdx = k;
            emit({ type: 'keyframe-request', skippedFrames: skipped });
          }
        }
        const loopOf = (idx: number, n: number): number => Math.floor(idx / n);
        // Send every frame that is due (video times are shifted back by the skips).
        while (vFrames.length) {
          const f = vFrames[vIdx % vFrames.length]!;
          const l = loopOf(vIdx, vFrames.length);
          if (l > loops && !opts.loop) break;
          const due = l * src.durationMs + f.timeMs - videoSkewMs;
          if (due > now) break;
          sendVideo(f, due);
          vIdx += 1;
        }
        while (aFrames.length) {
          const f = aFrames[aIdx % aFrames.length]!;
          const l = loopOf(aIdx, aFrames.length);
          if (l > loops && !opts.loop) break;
          const due = l * src.durationMs + f.timeMs;
          if (due > now) break;
          sendAudio(f, due);
          aIdx += 1;
        }
        loops = Math.min(vFrames.length ? loopOf(vIdx, vFrames.length) : Infinity, aFrames.length ? loopOf(aIdx, aFrames.length) : Infinity);
        if (!opts.loop && loops >= 1) {
          finish('end');
          return;
        }
        if (now - progressLast >= progressMs) {
          progressLast = now;
          emit({ type: 'progress', elapsedSeconds: now / 1000, videoFrames, audioFrames, loops, keyframeRequests, rembKbps });
        }
        // Wake at the next due frame, at least every 20 ms so keyframe requests are served quickly.
        let next = 20;
        if (vFrames.length) next = Math.min(next, loopOf(vIdx, vFrames.length) * src.durationMs + vFrames[vIdx % vFrames.length]!.timeMs - videoSkewMs - now);
        if (aFrames.length) next = Math.min(next, loopOf(aIdx, aFrames.length) * src.durationMs + aFrames[aIdx % aFrames.length]!.timeMs - now);
        tickTimer = setTimeout(tick, Math.max(1, Math.ceil(next)));
      };
      tickTimer = setTimeout(tick, 50);
    });
    const elapsed = (Date.now() - start) / 1000;
    return {
      source: src.name,
      durationSeconds: Math.round(elapsed * 1000) / 1000,
      video: src.video ? { codec: src.video.codec, width: src.video.width, height: src.video.height, framesSent: videoFrames } : undefined,
      audio: src.audio ? { codec: src.audio.codec, framesSent: audioFrames } : undefined,
      loops,
      keyframeRequests,
      rembKbps,
      stopReason,
      connection: s.path,
      chat: { sent: chat?.sent ?? 0, received: chat?.received ?? 0 },
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    clearTimeout(tickTimer);
    await session?.close().catch(() => {});
  }
}
