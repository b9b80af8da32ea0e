/**
 * `rtc-cli record`: receive what a peer (the companion page, a browser, `rtc-cli publish`) sends and write it to WebM.
 *
 * - Negotiation is connectPeer's (src/rtc/peer.ts). We offer/accept VP8, VP9, H.264 and Opus with the feedback a
 *   recorder needs: NACK (RFC 4585 §6.2.1, retransmissions come back on the same SSRC), PLI (RFC 4585 §6.3.1) and
 *   goog-remb. No transport-cc: negotiated with Chromium it made the sender's bitrate collapse (werift.md), because
 *   werift sends no transport feedback the sender can use; REMB tells the sender how far it may ramp up instead.
 * - Keyframes: a decoder cannot start on a delta frame, so we ask for one (PLI) on the first video packet, when the
 *   recorder starts, when NACK reports loss (rate-limited), and every KEYFRAME_INTERVAL_MS so clusters stay short:
 *   werift's writer starts a Matroska cluster at each keyframe.
 * - Muxing: werift's nonstandard MediaRecorder with disableLipSync + disableNtp (the default options lost audio and
 *   left gaps with Chromium; werift.md). Each frame is appended to `<out>.part` as it is muxed, so a crash leaves
 *   everything up to the last block; on a clean stop the writer appends Cues, patches Duration and the Segment size,
 *   and the file is renamed to `<out>`. A `.part` file is never mistaken for a finished recording.
 */
import { accessSync, constants, existsSync, statSync, renameSync, rmSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver, RTCRtpCodecParameters } from 'werift';
import type { RtpPacket } from 'werift/nonstandard';
import { interruptError, RtcError } from '../errors.js';
import type { IceConfig } from './ice-config.js';
import { connectPeer, type PeerEvent, type PeerSession, type PeerSessionOptions } from './peer.js';
import { attachChat, type Chat } from './record-chat.js';
import { buildRemb } from './rtcp.js';

export type RecordMedia = 'both' | 'video' | 'audio';

export interface RecordOptions {
  ice: IceConfig;
  signal: string;
  room: string;
  token?: string;
  /** The .webm to write. `<out>.part` is written meanwhile. */
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
  | { type: 'media'; kind: 'video' | 'audio'; codec: string }
  | { type: 'recording'; path: string; video?: { codec: string; width: number; height: number }; audio?: { codec: string } }
  | RecordProgress
  | { type: 'chat'; text: string }
  | { type: 'stopping'; reason: StopReason };

export type StopReason = 'duration' | 'interrupted' | 'peer-left';

export interface RecordResult {
  path: string;
  durationSeconds: number;
  bytes: number;
  video?: { codec: string; width: number; height: number; frames: number };
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

const KEYFRAME_INTERVAL_MS = 4000;
const LOSS_PLI_MIN_GAP_MS = 500;
const FIRST_KEYFRAME_RETRY_MS = 350;
/**
 * How long the jitter buffer waits for a missing packet (werift's default is 200 ms). A recorder can afford latency:
 * 500 ms gives NACK retransmissions time to arrive; measured with 5 % random loss from Chromium: 94 % of the frames
 * at 200 ms, 99.8 % at 500 ms.
 */
const JITTER_LATENCY_MS = 500;
/** At most this many packets per track are kept from before the recorder starts (the start grace is 3 s). */
const MAX_EARLY_PACKETS = 5000;
const REMB_INTERVAL_MS = 1000;
const DEFAULT_MAX_BITRATE_KBPS = 2500;
/** After the first packet, how long we wait for the other track and for a video keyframe before starting anyway. */
const START_GRACE_MS = 3000;
/** How long the writer gets to append cues and patch the header after stop. */
const FINALIZE_TIMEOUT_MS = 5000;

/** Exit 2 before any network work: the output must be a .webm in a writable directory (RTC_ERR_BAD_OUTPUT). */
export function validateOutputPath(outPath: string, force = false): string {
  const path = resolve(outPath);
  if (extname(path).toLowerCase() !== '.webm') {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output "${outPath}" must end in .webm`, { hint: 'record writes WebM (VP8/VP9/H.264 + Opus): name the file like out.webm' });
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output "${outPath}" is a directory`, { hint: 'give a file name, e.g. dir/out.webm' });
  }
  const dir = dirname(path);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `cannot write to the directory "${dir}" (missing or not writable)`, { hint: 'create the directory or choose another output path' });
  }
  if (existsSync(path) && !force) {
    throw new RtcError('RTC_ERR_EXISTS', `"${outPath}" already exists`, { hint: 'pass --force to overwrite it' });
  }
  return path;
}

/**
 * The VP8 frame size from a keyframe (RFC 6386 §9.1: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and
 * height). `payload` is an RTP payload; RFC 7741 §4.2 payload descriptor first.
 */
export function vp8KeyframeSize(payload: Buffer): { width: number; height: number } | undefined {
  if (payload.length < 1) return undefined;
  let i = 1;
  const x = (payload[0]! & 0x80) !== 0;
  const s = (payload[0]! & 0x10) !== 0;
  const pid = payload[0]! & 0x07;
  if (!s || pid !== 0) return undefined; // not the start of a frame
  if (x) {
    const ext = payload[i++]!;
    if (ext & 0x80) i += payload[i]! & 0x80 ? 2 : 1; // PictureID (M bit → 15 bits)
    if (ext & 0x40) i += 1; // TL0PICIDX
    if (ext & 0x30) i += 1; // TID/KEYIDX
  }
  if (payload.length < i + 10) return undefined;
  const frameTag = payload[i]!;
  if ((frameTag & 0x01) !== 0) return undefined; // P bit set: interframe
  if (payload[i + 3] !== 0x9d || payload[i + 4] !== 0x01 || payload[i + 5] !== 0x2a) return undefined;
  const width = payload.readUInt16LE(i + 6) & 0x3fff;
  const height = payload.readUInt16LE(i + 8) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** The codecs a recorder accepts, in preference order, with the feedback above. */
export async function recorderCodecs(): Promise<{ video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] }> {
  const { RTCRtpCodecParameters } = await import('werift');
  const fb = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }];
  return {
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: fb }),
      new RTCRtpCodecParameters({ mimeType: 'video/VP9', clockRate: 90000, rtcpFeedback: fb }),
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        rtcpFeedback: fb,
        parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
      }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
  };
}

interface Incoming {
  track: MediaStreamTrack;
  transceiver: RTCRtpTransceiver;
  kind: 'video' | 'audio';
  packets: number;
  /** Packets received before the recorder started (replayed into it from the first keyframe on). */
  early: { rtp: RtpPacket; at: number }[];
  /** Index in `early` of the first packet of the keyframe that gave the frame size. */
  keyIdx?: number;
  /** What the muxer listens to once it runs: a stand-in track we feed (early packets first, then live ones). */
  feed?: MediaStreamTrack;
  /** RFC 3550 A.3 loss accounting. */
  baseSeq?: number;
  maxExt?: number;
  cycles: number;
  received: number;
}

function lostOf(s: Incoming): number {
  if (s.baseSeq === undefined || s.maxExt === undefined) return 0;
  const expected = s.maxExt - s.baseSeq + 1;
  return Math.max(0, expected - s.received);
}

function noteSeq(s: Incoming, seq: number): void {
  s.received += 1;
  if (s.baseSeq === undefined || s.maxExt === undefined) {
    s.baseSeq = seq;
    s.maxExt = seq;
    return;
  }
  const maxSeq = s.maxExt & 0xffff;
  const delta = (seq - maxSeq + 0x10000) & 0xffff;
  if (delta > 0 && delta < 0x8000) {
    if (seq < maxSeq) s.cycles += 0x10000;
    s.maxExt = s.cycles + seq;
  }
}

/** Read the Matroska track number of a SimpleBlock (EBML id 0xA3, size vint, track vint). */
function simpleBlockTrack(buf: Buffer): number | undefined {
  if (buf[0] !== 0xa3) return undefined;
  const first = buf[1];
  if (first === undefined || first === 0) return undefined;
  const sizeLen = Math.clz32(first) - 23; // leading zeros in the byte + 1
  const t = buf[1 + sizeLen];
  return t !== undefined && t & 0x80 ? t & 0x7f : undefined;
}

export async function record(opts: RecordOptions): Promise<RecordResult> {
  const outPath = validateOutputPath(opts.outPath, opts.force);
  const partPath = `${outPath}.part`;
  const media = opts.media ?? 'both';
  const maxBps = (opts.maxBitrateKbps ?? DEFAULT_MAX_BITRATE_KBPS) * 1000;
  const emit = (e: RecordEvent): void => opts.onEvent?.(e);
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(opts.abort?.reason);
  if (opts.abort?.aborted) throw interruptError(opts.abort.reason);
  opts.abort?.addEventListener('abort', onAbort, { once: true });

  const incoming: Incoming[] = [];
  let firstPacket: (() => void) | undefined;
  const firstPacketSeen = new Promise<void>((r) => (firstPacket = r));
  let chat: Chat | undefined;
  let keyframeRequests = 0;
  let lastPli = 0;
  let videoSize: { width: number; height: number } | undefined;
  let keyframeSeen: (() => void) | undefined;
  const keyframe = new Promise<void>((r) => (keyframeSeen = r));

  const requestKeyframe = (s: Incoming): void => {
    const ssrc = s.track.ssrc;
    if (!ssrc) return;
    lastPli = Date.now();
    keyframeRequests += 1;
    void s.transceiver.receiver.sendRtcpPLI(ssrc).catch(() => {});
  };

  const codecs = await recorderCodecs();
  const setup = (pc: RTCPeerConnection, role: 'offerer' | 'answerer'): void => {
    if (role === 'offerer') {
      if (media !== 'audio') pc.addTransceiver('video', { direction: 'recvonly' });
      if (media !== 'video') pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    chat = attachChat(pc, {
      onMessage: (text) => {
        emit({ type: 'chat', text });
        opts.chat?.onMessage?.(text);
      },
      input: opts.chat?.input,
    });
    pc.onTrack.subscribe((track) => {
      const kind = track.kind === 'video' ? 'video' : 'audio';
      if ((media === 'video' && kind !== 'video') || (media === 'audio' && kind !== 'audio')) return;
      const transceiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
      if (!transceiver) return;
      const s: Incoming = { track, transceiver, kind, packets: 0, early: [], cycles: 0, received: 0 };
      incoming.push(s);
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        s.packets += 1;
        noteSeq(s, rtp.header.sequenceNumber);
        if (s.feed) s.feed.onReceiveRtp.execute(rtp);
        else if (s.early.length < MAX_EARLY_PACKETS) s.early.push({ rtp: rtp.clone(), at: Date.now() });
        if (s.packets === 1) {
          emit({ type: 'media', kind, codec: track.codec?.mimeType ?? 'unknown' });
          if (kind === 'video') requestKeyframe(s);
          firstPacket?.();
        }
        if (kind === 'video' && !videoSize) {
          const name = track.codec?.mimeType.toLowerCase();
          const size = name === 'video/vp8' ? vp8KeyframeSize(rtp.payload) : undefined;
          if (size) {
            videoSize = size;
            s.keyIdx = s.early.length - 1;
            keyframeSeen?.();
          }
        }
      });
      // werift's NACK generator reports packets it gave up on: ask for a fresh keyframe (rate-limited).
      transceiver.receiver.onPacketLost.subscribe(() => {
        if (kind === 'video' && Date.now() - lastPli > LOSS_PLI_MIN_GAP_MS) requestKeyframe(s);
      });
    });
  };

  let session: PeerSession | undefined;
  const timers: NodeJS.Timeout[] = [];
  const cleanup = async (): Promise<void> => {
    for (const t of timers) clearInterval(t);
    opts.abort?.removeEventListener('abort', onAbort);
    await session?.close().catch(() => {});
  };

  try {
    session = await connectPeer({
      ice: opts.ice,
      signal: opts.signal,
      room: opts.room,
      token: opts.token,
      timeoutMs: opts.timeoutMs,
      abort: ac.signal,
      setup,
      onEvent: (e) => emit(e),
      // max-bundle: one ICE transport for every m-line (werift leaves the sockets of unused un-bundled transports open).
      peerConfig: { codecs, bundlePolicy: 'max-bundle', ...(opts.peerConfig ?? {}) },
      connectSignaling: opts.connectSignaling,
      manual: opts.manual,
    });
    const s = session;

    // RTC_ERR_NO_MEDIA: connected, but nothing arrives.
    await raceWait(firstPacketSeen, opts.timeoutMs, ac.signal, s.peerLeft, () =>
      new RtcError('RTC_ERR_NO_MEDIA', `the peer connected but sent no media within ${opts.timeoutMs / 1000} s`, {
        hint: 'start the camera on the page (or pass a source to publish), and check that it sends video/audio',
      }),
    );

    // REMB from now on: the sender may ramp up to --max-bitrate.
    const sendRemb = async (): Promise<void> => {
      const v = incoming.filter((x) => x.kind === 'video' && x.track.ssrc);
      if (v.length === 0) return;
      const { receiver } = v[0]!.transceiver;
      const werift = await import('werift/nonstandard');
      const pkt = buildRemb(werift, receiver.rtcpSsrc, v.map((x) => x.track.ssrc!), maxBps);
      await receiver.dtlsTransport.sendRtcp([pkt]).catch(() => {});
    };
    void sendRemb();
    timers.push(setInterval(() => void sendRemb(), REMB_INTERVAL_MS));

    // Give the other track and the first VP8 keyframe a moment, so the header carries the true frame size.
    const wantsVideo = () => incoming.some((x) => x.kind === 'video');
    const graceEnd = Date.now() + START_GRACE_MS;
    while (Date.now() < graceEnd && !(incoming.every((x) => x.packets > 0) && (!wantsVideo() || videoSize))) {
      await sleep(50, ac.signal);
    }
    if (ac.signal.aborted) throw interruptError(ac.signal.reason); // Ctrl-C before anything was written: exit 130, no file
    const tracks = incoming.filter((x) => x.packets > 0);
    const videoIn = tracks.find((x) => x.kind === 'video');
    const audioIn = tracks.find((x) => x.kind === 'audio');
    if (videoIn && !videoSize) await raceWait(keyframe, 1000, ac.signal, s.peerLeft, () => undefined).catch(() => {});

    const nonstandard = await import('werift/nonstandard');
    const { Event } = await import('werift');
    rmSync(partPath, { force: true });
    const save = nonstandard.saveToFileSystem(partPath);
    const stream = new Event<[Parameters<ReturnType<typeof nonstandard.saveToFileSystem>>[0]]>();
    let bytes = 0;
    let videoFrames = 0;
    let audioFrames = 0;
    let writeError: unknown;
    let finalized: (() => void) | undefined;
    const finalizedP = new Promise<void>((r) => (finalized = r));
    const videoTrackNo = videoIn ? 1 : 0;
    let muxedDurationMs: number | undefined;
    stream.subscribe((o) => {
      if (o.eol) muxedDurationMs = o.eol.duration;
      if (o.saveToFile) {
        bytes += o.saveToFile.length;
        if (o.kind === 'block') {
          const t = simpleBlockTrack(o.saveToFile);
          if (t === videoTrackNo) videoFrames += 1;
          else if (t !== undefined) audioFrames += 1;
        }
      }
      // saveToFileSystem queues writes internally, so the eol patch lands after every block.
      void save(o)
        .then((eol) => {
          if (eol || o.eol) finalized?.();
        })
        .catch((e: unknown) => {
          writeError = e;
          finalized?.();
        });
    });
    // The muxer gets stand-in tracks: first the packets that arrived before it existed, from the keyframe that gave
    // us the frame size on (audio from the same moment), so the recording starts with that keyframe, not with the
    // next one a PLI has to provoke; then everything live.
    const { MediaStreamTrack: Track } = await import('werift');
    const inputs = [videoIn, audioIn].filter((x): x is Incoming => Boolean(x));
    const startAt = videoIn?.keyIdx !== undefined ? videoIn.early[videoIn.keyIdx]!.at : 0;
    const ordered = inputs.map((x) => {
      const feed = new Track({ kind: x.kind, codec: x.track.codec });
      x.track.onReceiveRtcp.subscribe((r) => feed.onReceiveRtcp.execute(r));
      return { x, feed };
    });
    const recorder = new nonstandard.MediaRecorder({
      stream,
      tracks: ordered.map((o) => o.feed),
      width: videoSize?.width ?? 640,
      height: videoSize?.height ?? 480,
      disableLipSync: true,
      disableNtp: true,
      jitterBuffer: { latency: JITTER_LATENCY_MS },
    });
    let recorderError: unknown;
    recorder.onError.subscribe((e) => (recorderError = e));
    await sleep(0); // MediaRecorder subscribes to its tracks asynchronously
    for (const { x, feed } of ordered) {
      const early = x.kind === 'video' && x.keyIdx !== undefined ? x.early.slice(x.keyIdx) : x.early.filter((e) => e.at >= startAt);
      x.early = [];
      for (const e of early) feed.onReceiveRtp.execute(e.rtp);
      x.feed = feed;
    }
    if (videoIn) requestKeyframe(videoIn);
    const videoCodec = videoIn?.track.codec?.mimeType.split('/')[1] ?? '';
    const audioCodec = audioIn?.track.codec?.mimeType.split('/')[1] ?? '';
    emit({
      type: 'recording',
      path: outPath,
      video: videoIn ? { codec: videoCodec, width: videoSize?.width ?? 640, height: videoSize?.height ?? 480 } : undefined,
      audio: audioIn ? { codec: audioCodec } : undefined,
    });
    const started = Date.now();
    if (videoIn) {
      timers.push(setInterval(() => requestKeyframe(videoIn), KEYFRAME_INTERVAL_MS));
      // Senders throttle keyframe requests (libwebrtc ignores one within ~300 ms of the last keyframe), and the one
      // that told us the frame size came before the recorder was listening: ask again until a frame is muxed.
      const retry = setInterval(() => {
        if (videoFrames > 0) clearInterval(retry);
        else requestKeyframe(videoIn);
      }, FIRST_KEYFRAME_RETRY_MS);
      timers.push(retry);
    }
    const lost = (): number => incoming.reduce((n, x) => n + lostOf(x), 0);
    let lastBytes = 0;
    let lastT = started;
    const progressMs = opts.progressIntervalMs ?? 1000;
    const progressTimer = setInterval(() => {
        const now = Date.now();
        const kbps = ((bytes - lastBytes) * 8) / Math.max(1, now - lastT);
        lastBytes = bytes;
        lastT = now;
        emit({ type: 'progress', elapsedSeconds: (now - started) / 1000, bytes, kbps, videoFrames, audioFrames, packetsLost: lost() });
      }, progressMs);
    timers.push(progressTimer);

    // Run until --duration, Ctrl-C, or the peer leaving.
    const stopReason = await new Promise<StopReason>((resolveStop) => {
      if (opts.durationMs !== undefined) timers.push(setTimeout(() => resolveStop('duration'), opts.durationMs));
      if (ac.signal.aborted) resolveStop('interrupted');
      ac.signal.addEventListener('abort', () => resolveStop('interrupted'), { once: true });
      void s.peerLeft.then(() => resolveStop('peer-left'));
    });
    clearInterval(progressTimer);
    emit({ type: 'stopping', reason: stopReason });
    const elapsed = (Date.now() - started) / 1000;
    // stop() flushes the jitter buffers and makes the writer append Cues and patch Duration/size ("eol").
    void recorder.stop().catch(() => {});
    const done = await Promise.race([finalizedP.then(() => true), sleep(FINALIZE_TIMEOUT_MS).then(() => false)]);
    if (writeError) throw new RtcError('RTC_ERR_WRITE', `writing ${partPath} failed: ${(writeError as Error).message}`, { cause: writeError });
    if (recorderError) throw new RtcError('RTC_ERR_INTERNAL', `the WebM writer failed: ${(recorderError as Error).message || 'unknown error'}`, { cause: recorderError });
    if (videoFrames + audioFrames === 0) {
      rmSync(partPath, { force: true });
      throw new RtcError('RTC_ERR_NO_MEDIA', 'no complete frame was received, nothing was recorded', { hint: 'the peer sent packets but never a decodable frame (keyframe); try again' });
    }
    if (!done) {
      // The writer never confirmed: keep the .part (decodable up to its last block) and say so.
      throw new RtcError('RTC_ERR_WRITE', `the recording could not be finalized; the partial file is ${partPath}`, {
        hint: `ffmpeg -i ${partPath} -c copy fixed.webm rewrites its index`,
      });
    }
    renameSync(partPath, outPath);
    const finalBytes = statSync(outPath).size;
    const result: RecordResult = {
      path: outPath,
      // The muxer's own duration (last frame time), not wall time: that is what a player shows.
      durationSeconds: Math.round(muxedDurationMs ?? elapsed * 1000) / 1000,
      bytes: finalBytes,
      video: videoIn ? { codec: videoCodec, width: videoSize?.width ?? 640, height: videoSize?.height ?? 480, frames: videoFrames } : undefined,
      audio: audioIn ? { codec: audioCodec, frames: audioFrames } : undefined,
      packetsLost: lost(),
      keyframeRequests,
      chat: { sent: chat?.sent ?? 0, received: chat?.received ?? 0 },
      stopReason,
      connection: s.path,
    };
    return result;
  } finally {
    await cleanup();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        res();
      },
      { once: true },
    );
  });
}

/** Wait for `p`, failing on timeout (with `onTimeout()`'s error, or resolving when it returns undefined), abort or peer left. */
async function raceWait(p: Promise<void>, ms: number, signal: AbortSignal, peerLeft: Promise<void>, onTimeout: () => RtcError | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      p,
      new Promise<void>((res, rej) => {
        timer = setTimeout(() => {
          const e = onTimeout();
          if (e) rej(e);
          else res();
        }, ms);
      }),
      new Promise<void>((_res, rej) => {
        onAbort = () => rej(interruptError(signal.reason));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
      peerLeft.then(() => {
        throw new RtcError('RTC_ERR_PEER_LEFT', 'the peer left before sending media');
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
