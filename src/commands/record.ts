/**
 * `rtc-cli record --room <room> <out.webm|out.mkv>`: record what the peer in the room sends (the companion page's
 * camera, a browser, `rtc-cli publish`) into a WebM or Matroska file. The work is in src/rtc/record.ts.
 */
import { defineCommand } from '../cli/flags.js';
import { parseIntFlag, parseSecondsFlag, timeoutFlag } from '../cli/options.js';
import { peerFlags, peerTargetFrom, withPeerHints, type PeerFlagValues } from '../cli/peer.js';
import { RtcError } from '../errors.js';
import type { RecordEvent, RecordResult } from '../rtc/record.js';

interface RecordFlags extends PeerFlagValues {
  duration?: number;
  videoOnly?: boolean;
  audioOnly?: boolean;
  maxBitrate: number;
  timeout: number;
  force?: boolean;
  chat?: boolean;
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

export const command = defineCommand<RecordFlags>({
  name: 'record',
  group: 'peers',
  summary: 'record the camera/microphone (or screen) a peer in the room sends into a WebM (VP8/VP9 + Opus) or Matroska (also H.264) file',
  args: [{ name: '<out>', help: 'out.webm or out.mkv; <out>.part is written meanwhile and renamed when the file is finalized' }],
  flags: {
    duration: {
      flags: '--duration <seconds>',
      help: 'stop after this much recorded media (default: until the peer leaves or Ctrl-C)',
      doc: 'stop after this much recorded media (both tracks stop at that time)',
      parse: parseSecondsFlag('--duration', 0.1),
      defaultText: 'until stopped',
    },
    videoOnly: { flags: '--video-only', help: 'record only the video track', conflicts: ['audioOnly'] },
    audioOnly: { flags: '--audio-only', help: 'record only the audio track', conflicts: ['videoOnly'] },
    maxBitrate: {
      flags: '--max-bitrate <kbps>',
      help: 'tell the sender (REMB) how far its video may ramp up',
      parse: parseIntFlag('--max-bitrate', 30, 100_000),
      default: 2500,
    },
    timeout: timeoutFlag(30, 'give up if no peer joins, connects, or sends media within this many seconds (each)'),
    force: { flags: '--force', help: 'overwrite an existing output file' },
    chat: { flags: '--chat', help: "send lines read from stdin to the page's chat (received chat lines are always shown)" },
    ...peerFlags('answerer'),
  },
  helpAfter: `
Example:
  rtc-cli serve                                   # then open http://127.0.0.1:3000/?room=demo&autostart=1
  rtc-cli record --room demo out.webm --duration 10
  rtc-cli record --room demo talk.webm --audio-only --json
  rtc-cli record --room demo call.mkv             # Matroska: also accepts H.264 (WebM cannot hold it)

Stops on --duration, Ctrl-C or when the peer leaves, and finalizes the file (cues, duration). If rtc-cli is killed,
<out>.part stays behind and plays up to the last frame written (remux it: ffmpeg -i out.webm.part -c copy out.webm).
Exit codes: 0 recorded, 1 no peer / no media (RTC_ERR_NO_MEDIA) / connection failed, 2 bad output path (or H.264
video for a .webm), 130 interrupted before anything was recorded.`,
  run: async (ctx, opts, args) => {
    const out = args[0];
    if (!out) throw new RtcError('RTC_ERR_USAGE', 'the output file is missing', { hint: 'rtc-cli record --room demo out.webm' });
    const target = peerTargetFrom(ctx, opts, {
      command: 'record',
      example: 'rtc-cli record --room demo out.webm',
      // With --json the line travels in the manual-offer/manual-answer event (docs/peer-signaling.md), as in send-file.
      manualLine: (line) => void (ctx.out.json || process.stdout.write(line + '\n')),
      stdinBusy: opts.chat ? '--chat' : undefined,
    });
    if (target.manual) ctx.out.info('manual mode: copy the line printed below to the other side and paste its line here');
    const { record, validateOutputPath } = await import('../rtc/record.js');
    // Exit 2 before any network work (the library checks again; this keeps the error ahead of the spinner).
    validateOutputPath(out, Boolean(opts.force));
    const spinner = ctx.out.spinner(target.manual ? 'gathering candidates' : `waiting for a peer in room "${target.room}"`);
    let input: AsyncIterable<string> | undefined;
    if (opts.chat) {
      const { createInterface } = await import('node:readline');
      input = createInterface({ input: process.stdin, crlfDelay: Infinity });
    }
    const onEvent = (e: RecordEvent): void => {
      switch (e.type) {
        case 'connected':
          spinner.text(`connected (${e.path}, ${e.setupMs} ms); waiting for media`);
          ctx.out.event({ event: 'connected', path: e.path, setupMs: e.setupMs });
          break;
        case 'media':
          ctx.out.debug(`first ${e.kind} packet (${e.codec})`);
          break;
        case 'recording':
          spinner.stop();
          ctx.out.info(
            `recording to ${e.path}: ${e.video ? `${e.video.codec} ${e.video.width}x${e.video.height}` : 'no video'}, ${e.audio ? e.audio.codec : 'no audio'}`,
          );
          ctx.out.event({ event: 'recording', path: e.path, container: e.container, video: e.video, audio: e.audio });
          break;
        case 'warning':
          ctx.out.warn(e.message);
          ctx.out.event({ event: 'warning', message: e.message });
          break;
        case 'progress':
          ctx.out.event({ event: 'progress', ...e, type: undefined });
          if (ctx.out.verbose || !ctx.out.interactive) {
            ctx.out.debug(`${e.elapsedSeconds.toFixed(0)} s, ${size(e.bytes)}, ${e.kbps.toFixed(0)} kbps, ${e.videoFrames} video / ${e.audioFrames} audio frames, ${e.packetsLost} lost`);
          }
          if (ctx.out.interactive) {
            process.stderr.write(`\r${e.elapsedSeconds.toFixed(0)} s  ${size(e.bytes)}  ${e.kbps.toFixed(0)} kbps  ${e.videoFrames} frames  ${e.packetsLost} lost   `);
          }
          break;
        case 'chat':
          ctx.out.info(`chat: ${e.text}`);
          ctx.out.event({ event: 'chat', text: e.text });
          break;
        case 'stopping':
          if (ctx.out.interactive) process.stderr.write('\n');
          ctx.out.info(`stopping (${e.reason}); finalizing the file`);
          break;
        default:
          if (e.type === 'joined') spinner.text(`in room "${e.room}", waiting for a peer`);
          // The peer's steps as NDJSON, as send-file/recv-file print them (joined, waiting-for-peer, manual-*, ...).
          ctx.out.event({ event: e.type, ...e, type: undefined });
          ctx.out.debug(JSON.stringify(e));
      }
    };
    let result: RecordResult;
    try {
      result = await withPeerHints(record({
        ...target,
        outPath: out,
        force: Boolean(opts.force),
        durationMs: opts.duration,
        media: opts.videoOnly ? 'video' : opts.audioOnly ? 'audio' : 'both',
        maxBitrateKbps: opts.maxBitrate,
        timeoutMs: opts.timeout,
        abort: ctx.signal,
        onEvent,
        chat: { input },
      }), target);
    } finally {
      spinner.stop();
      if (input && 'close' in input) (input as { close(): void }).close();
    }
    ctx.out.result(result, () =>
      [
        `recorded ${result.path} (${result.durationSeconds.toFixed(1)} s, ${size(result.bytes)}, stopped: ${result.stopReason})`,
        result.video
          ? `  video: ${result.video.codec} ${result.video.width}x${result.video.height}, ${result.video.frames} frames${result.video.framesDropped ? ` (${result.video.framesDropped} dropped: lost packets)` : ''}`
          : '  video: none',
        result.audio ? `  audio: ${result.audio.codec}, ${result.audio.frames} frames` : '  audio: none',
        `  packets lost: ${result.packetsLost}, keyframe requests: ${result.keyframeRequests}, path: ${result.connection}`,
      ].join('\n'),
    );
  },
});
