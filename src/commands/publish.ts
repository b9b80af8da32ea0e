/**
 * `rtc-cli publish --room <room> <file.webm|file.ivf|testsrc>`: send a recorded file or the built-in test pattern as
 * a live track to the peer in the room (the companion page, a browser, `rtc-cli record`). Work in src/rtc/publish.ts.
 */
import { defineCommand } from '../cli/flags.js';
import { parseSecondsFlag, timeoutFlag } from '../cli/options.js';
import { peerFlags, peerTargetFrom, withPeerHints, type PeerFlagValues } from '../cli/peer.js';
import { RtcError } from '../errors.js';
import type { PublishEvent, PublishResult } from '../rtc/publish.js';

interface PublishFlags extends PeerFlagValues {
  loop?: boolean;
  duration?: number;
  timeout: number;
  chat?: boolean;
}

export const command = defineCommand<PublishFlags>({
  name: 'publish',
  group: 'peers',
  summary: 'send a VP8 IVF, a VP8/Opus WebM or a test pattern to the peer in the room, in real time (test a browser with no camera)',
  args: [{ name: '<source>', help: 'file.ivf (VP8), file.webm (VP8 and/or Opus), or "testsrc" (built-in 640x480@30 pattern)' }],
  flags: {
    loop: { flags: '--loop', help: 'start again at the end of the file (until Ctrl-C, --duration or the peer leaving)' },
    duration: { flags: '--duration <seconds>', help: 'stop after this long', parse: parseSecondsFlag('--duration', 0.1), defaultText: 'the end of the file' },
    timeout: timeoutFlag(30, 'give up if no peer joins or connects within this many seconds'),
    chat: { flags: '--chat', help: "send lines read from stdin to the page's chat (received chat lines are always shown)" },
    ...peerFlags('offerer'),
  },
  helpAfter: `
Example:
  rtc-cli serve                                  # open http://127.0.0.1:3000/?room=demo in a browser, click Join
  rtc-cli publish --room demo testsrc --loop
  rtc-cli publish --room demo talk.webm          # e.g. a file made by rtc-cli record

Keyframe requests (PLI/FIR) skip the video to the file's next keyframe; NACKs are answered from the send history;
a REMB estimate below the file's bitrate is reported (pre-encoded frames cannot be re-encoded).
Exit codes: 0 sent (to the end, --duration, Ctrl-C, or until the receiver left), 1 no peer / connection failed,
2 bad source file.`,
  run: async (ctx, opts, args) => {
    const input = args[0];
    if (!input) throw new RtcError('RTC_ERR_USAGE', 'the source is missing', { hint: 'rtc-cli publish --room demo testsrc' });
    const target = peerTargetFrom(ctx, opts, {
      command: 'publish',
      example: 'rtc-cli publish --room demo testsrc',
      // With --json the line travels in the manual-offer/manual-answer event (docs/peer-signaling.md), as in send-file.
      manualLine: (line) => void (ctx.out.json || process.stdout.write(line + '\n')),
      stdinBusy: opts.chat ? '--chat' : undefined,
    });
    if (target.manual) ctx.out.info('manual mode: copy the line printed below to the other side and paste its line here');
    const { publish } = await import('../rtc/publish.js');
    const spinner = ctx.out.spinner(target.manual ? 'gathering candidates' : `waiting for a peer in room "${target.room}"`);
    let chatInput: AsyncIterable<string> | undefined;
    if (opts.chat) {
      const { createInterface } = await import('node:readline');
      chatInput = createInterface({ input: process.stdin, crlfDelay: Infinity });
    }
    const onEvent = (e: PublishEvent): void => {
      switch (e.type) {
        case 'source':
          ctx.out.info(
            `source ${e.name}: ${e.video ? `${e.video.codec} ${e.video.width}x${e.video.height} ${e.video.frames} frames` : 'no video'}, ${e.audio ? `${e.audio.codec} ${e.audio.frames} frames` : 'no audio'}, ${e.durationSeconds.toFixed(1)} s`,
          );
          ctx.out.event({ event: 'source', ...e, type: undefined });
          break;
        case 'connected':
          spinner.stop();
          ctx.out.info(`connected (${e.path}, ${e.setupMs} ms); sending`);
          ctx.out.event({ event: 'connected', path: e.path, setupMs: e.setupMs });
          break;
        case 'progress':
          ctx.out.event({ event: 'progress', ...e, type: undefined });
          ctx.out.debug(`${e.elapsedSeconds.toFixed(0)} s, ${e.videoFrames} video / ${e.audioFrames} audio frames, loop ${e.loops}, ${e.keyframeRequests} keyframe requests${e.rembKbps !== undefined ? `, REMB ${e.rembKbps.toFixed(0)} kbps` : ''}`);
          break;
        case 'keyframe-request':
          ctx.out.debug(`keyframe requested: skipped ${e.skippedFrames} frames to the next keyframe`);
          ctx.out.event({ event: 'keyframe-request', skippedFrames: e.skippedFrames });
          break;
        case 'remb-below-source':
          ctx.out.warn(`the receiver estimates ${e.rembKbps.toFixed(0)} kbps, below the file's ${e.sourceKbps.toFixed(0)} kbps: expect loss (a pre-encoded file cannot be re-encoded)`);
          break;
        case 'chat':
          ctx.out.info(`chat: ${e.text}`);
          ctx.out.event({ event: 'chat', text: e.text });
          break;
        default:
          if (e.type === 'joined') spinner.text(`in room "${e.room}", waiting for a peer`);
          // The peer's steps as NDJSON, as send-file/recv-file print them (joined, waiting-for-peer, manual-*, ...).
          ctx.out.event({ event: e.type, ...e, type: undefined });
          ctx.out.debug(JSON.stringify(e));
      }
    };
    let result: PublishResult;
    try {
      result = await withPeerHints(publish({
        ...target,
        input,
        loop: Boolean(opts.loop),
        durationMs: opts.duration,
        timeoutMs: opts.timeout,
        abort: ctx.signal,
        onEvent,
        chat: { input: chatInput },
      }), target);
    } finally {
      spinner.stop();
      if (chatInput && 'close' in chatInput) (chatInput as { close(): void }).close();
    }
    ctx.out.result(result, () =>
      [
        `sent ${result.source} for ${result.durationSeconds.toFixed(1)} s (${result.loops} loop${result.loops === 1 ? '' : 's'}, stopped: ${result.stopReason})`,
        result.video ? `  video: ${result.video.codec} ${result.video.width}x${result.video.height}, ${result.video.framesSent} frames` : '  video: none',
        result.audio ? `  audio: ${result.audio.codec}, ${result.audio.framesSent} frames` : '  audio: none',
        `  keyframe requests: ${result.keyframeRequests}${result.rembKbps !== undefined ? `, last REMB ${result.rembKbps.toFixed(0)} kbps` : ''}, path: ${result.connection}`,
      ].join('\n'),
    );
  },
});
