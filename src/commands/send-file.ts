/**
 * `rtc-cli send-file <file...>`: print a code and send files to the `recv-file` peer that uses it (or the one in
 * `--room`), over one data channel. Protocol: docs/file-transfer-protocol.md, codes: docs/peer-auth.md. Logic:
 * src/rtc/file-transfer.ts.
 */
import { defineCommand } from '../cli/flags.js';
import { collect, timeoutFlag } from '../cli/options.js';
import { CODE_WORDS, ENGINE, IDLE_TIMEOUT, peerFlags, peerRenderer, peerTargetFrom, type PeerFlagValues } from '../cli/peer.js';
import type { EngineChoice } from '../rtc/engine/types.js';
import { RtcError } from '../errors.js';

interface SendFlags extends PeerFlagValues {
  name?: string[];
  timeout: number;
  idleTimeout: number;
  codeWords: number;
  engine: EngineChoice;
}

export const command = defineCommand<SendFlags>({
  name: 'send-file',
  group: 'peers',
  summary: 'send files to the recv-file peer that types the printed code (SHA-256 verified, resumable)',
  args: [{ name: '<file...>', help: 'files to send; "-" sends stdin' }],
  flags: {
    name: {
      flags: '--name <name>',
      help: 'announce the file under this name (default: its basename; "stdin" for -); repeat once per file, in order',
      parse: collect,
    },
    timeout: {
      ...timeoutFlag(60, 'give up if no peer joins or connects within this many seconds'),
      doc:
        'no peer joined / no connection within it → exit 1 (`RTC_ERR_NO_PEER` / `RTC_ERR_ICE_FAILED`); with a code, send-file ' +
        'waits 10 minutes for the receiver unless `--timeout` is given, then `--timeout` for the exchange and the connection',
    },
    idleTimeout: IDLE_TIMEOUT,
    engine: ENGINE,
    codeWords: CODE_WORDS,
    ...peerFlags('offerer'),
  },
  helpAfter: `
Without --room, send-file prints a code (e.g. 7-guitarist-revenge) and waits up to 10 minutes (or --timeout) for the
receiver to type it: the code authenticates both peers and allows one attempt (docs/peer-auth.md).
The receiver keeps each file as a partial file and moves it into place only after the SHA-256 matches. If a transfer
breaks, run the commands again: it resumes from the receiver's verified partial file. Exit codes: 2 missing/unreadable
file (before connecting), 1 no peer within --timeout / wrong code / peer left / hash mismatch / a file the receiver
refused, 130 Ctrl-C.

Examples:
  rtc-cli send-file photo.jpg notes.txt                  # prints a code; other machine: rtc-cli recv-file <code>
  rtc-cli send-file --room demo photo.jpg                # other terminal: rtc-cli recv-file --room demo --out ~/in
  tar c dir | rtc-cli send-file --name dir.tar -
  rtc-cli send-file --manual big.iso                     # prints an offer line; paste the receiver's answer line`,
  run: async (ctx, opts, args) => {
    if (opts.name !== undefined && opts.name.length !== args.length) {
      throw new RtcError('RTC_ERR_USAGE', `--name was given ${opts.name.length} time(s) for ${args.length} file(s)`, { hint: 'give one --name per file, in the same order' });
    }
    let manualLine: (line: string) => void = () => {};
    const target = peerTargetFrom(ctx, opts, {
      command: 'send-file',
      example: 'rtc-cli send-file file.bin',
      manualLine: (line) => manualLine(line),
      stdinBusy: args.includes('-') ? 'sending "-" (stdin)' : undefined,
      code: { side: 'create', words: opts.codeWords, timeoutGiven: ctx.flagSource('timeout') === 'cli' },
    });
    const { sendFiles } = await import('../rtc/file-transfer.js');
    const fmt = await import('../rtc/file-transfer-format.js');
    const render = peerRenderer(ctx, fmt.formatPeerEvent, { manual: Boolean(target.manual), dataOnStdout: false, target });
    manualLine = render.manualLine;
    const result = await render.wrap(sendFiles({
      files: args.map((path, i) => ({ path, name: opts.name?.[i] })),
      stdin: args.includes('-') ? process.stdin : undefined,
      ...target,
      timeoutMs: opts.timeout,
      idleTimeoutMs: opts.idleTimeout,
      engine: opts.engine,
      abort: ctx.signal,
      onEvent: render.onEvent,
      onProgress: render.progress(fmt.formatProgress),
    }));
    ctx.out.result(result, () => fmt.formatResult(result));
  },
});
