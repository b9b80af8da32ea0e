/**
 * `rtc-cli send-file --room <room> <file...>`: send files to the `recv-file` peer in the room over one data channel.
 * Protocol: docs/file-transfer-protocol.md. Logic: src/rtc/file-transfer.ts.
 */
import { Option, type Command } from 'commander';
import { action } from '../cli/run.js';
import { addIceOptions, iceConfigFrom, parseSecondsFlag, timeoutOption, type IceOptionValues } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import { RtcError } from '../errors.js';
import type { PeerEvent, PeerRole } from '../rtc/peer.js';
import type { TransferProgress } from '../rtc/file-transfer.js';

interface SendFlags extends IceOptionValues {
  room?: string;
  token?: string;
  manual?: boolean;
  manualRole?: PeerRole;
  name?: string[];
  timeout: number;
  idleTimeout: number;
}

export function register(program: Command): Command {
  const cmd = program
    .command('send-file')
    .description('send files to the recv-file peer in a room (SHA-256 verified, resumable)')
    .argument('<file...>', 'files to send; "-" sends stdin')
    .option('--room <room>', 'room to join on the signaling server (the receiver joins the same room)')
    .addOption(new Option('--token <secret>', 'shared secret of a `serve --token` server').env('RTC_TOKEN'))
    .addOption(new Option('--manual', 'no signaling server: print the offer as one line, paste the answer (same as --signal manual)'))
    .addOption(new Option('--manual-role <role>', 'in manual mode, which side prints the offer').choices(['offerer', 'answerer']).default('offerer'))
    .addOption(
      new Option('--name <name>', 'announce the file under this name (default: its basename; "stdin" for -); repeat once per file, in order')
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .addOption(timeoutOption(60, 'give up if no peer joins or connects within this many seconds'))
    .addOption(
      new Option('--idle-timeout <seconds>', 'treat the peer as gone when nothing arrives from it for this long')
        .argParser(parseSecondsFlag('--idle-timeout', 1))
        .default(15_000, '15'),
    );
  addIceOptions(cmd);
  return cmd
    .addHelpText(
      'after',
      `
The receiver writes <name>.part and renames it only after the SHA-256 matches. If a transfer breaks, run the same two
commands again: it resumes from the receiver's verified .part. Exit codes: 2 missing/unreadable file (before
connecting), 1 no peer within --timeout / peer left / hash mismatch, 130 Ctrl-C.

Examples:
  rtc-cli send-file --room demo photo.jpg notes.txt      # other terminal: rtc-cli recv-file --room demo --out ~/in
  tar c dir | rtc-cli send-file --room demo --name dir.tar -
  rtc-cli send-file --manual big.iso                     # prints an offer line; paste the receiver's answer line`,
    )
    .action(
      action<SendFlags>(async (ctx, opts, args) => {
        try {
          const manual = Boolean(opts.manual) || ctx.flags.signal === 'manual';
          if (!manual && !opts.room) {
            throw new RtcError('RTC_ERR_USAGE', 'send-file needs --room <room> (or --manual)', { hint: 'rtc-cli send-file --room demo file.bin' });
          }
          if (opts.name !== undefined && opts.name.length !== args.length) {
            throw new RtcError('RTC_ERR_USAGE', `--name was given ${opts.name.length} time(s) for ${args.length} file(s)`, { hint: 'give one --name per file, in the same order' });
          }
          if (manual && args.includes('-')) {
            throw new RtcError('RTC_ERR_USAGE', 'in manual mode stdin carries the pasted answer, so "-" cannot be sent', {
              hint: 'write the data to a file first, or use a signaling server (rtc-cli serve)',
            });
          }
          const ice = iceConfigFrom(opts);
          const { sendFiles } = await import('../rtc/file-transfer.js');
          const fmt = await import('../rtc/file-transfer-format.js');
          const render = peerRenderer(ctx, fmt, manual, false);
          const result = await render.wrap(sendFiles({
            files: args.map((path, i) => ({ path, name: opts.name?.[i] })),
            stdin: args.includes('-') ? process.stdin : undefined,
            ice,
            signal: manual ? 'manual' : ctx.flags.signal,
            room: opts.room,
            token: opts.token,
            timeoutMs: opts.timeout,
            idleTimeoutMs: opts.idleTimeout,
            abort: ctx.signal,
            manual: manual ? { output: render.manualLine, input: process.stdin, role: opts.manualRole ?? 'offerer' } : undefined,
            onEvent: render.onEvent,
            onProgress: render.onProgress,
          }));
          ctx.out.result(result, () => fmt.formatResult(result));
        } finally {
          exitSoonAfterDone();
        }
      }),
    );
}

type Fmt = typeof import('../rtc/file-transfer-format.js');

/** Spinner/NDJSON rendering shared in shape with recv-file (kept here: command files do not import each other). */
function peerRenderer(ctx: CommandContext, fmt: Fmt, manual: boolean, dataOnStdout: boolean) {
  const spinner = ctx.out.spinner(manual ? 'gathering candidates' : 'connecting to the signaling server');
  // NDJSON events go to stdout, except when stdout carries the received bytes (recv-file --stdout).
  const event = (o: Record<string, unknown>): void => {
    if (!ctx.out.json) return;
    if (dataOnStdout) process.stderr.write(JSON.stringify(o) + '\n');
    else ctx.out.event(o);
  };
  return {
    manualLine(line: string): void {
      // The line is the product here: alone on stdout so it can be piped/copied (stderr when stdout carries data).
      if (ctx.out.json) return; // the NDJSON event carries it
      (dataOnStdout ? process.stderr : process.stdout).write(line + '\n');
    },
    onEvent(e: PeerEvent): void {
      if (e.type === 'manual-offer' || e.type === 'manual-answer') {
        event({ event: e.type, line: e.line });
        ctx.out.info(`copy the line above to the other side${e.type === 'manual-offer' ? ', then paste its answer line here' : ''}`);
        return;
      }
      event({ event: e.type, ...e, type: undefined });
      const text = fmt.formatPeerEvent(e);
      if (!text) return;
      if (ctx.out.interactive) spinner.text(text);
      else if (e.type === 'connected' || e.type === 'waiting-for-peer' || e.type === 'manual-waiting') ctx.out.info(text);
    },
    onProgress(p: TransferProgress): void {
      event({ event: 'progress', ...p });
      if (ctx.out.interactive) spinner.text(fmt.formatProgress(p));
    },
    async wrap<T>(p: Promise<T>): Promise<T> {
      try {
        const r = await p;
        spinner.stop();
        return r;
      } catch (e) {
        spinner.fail();
        throw e;
      }
    },
  };
}

/**
 * werift leaves a TURN allocation refresh timer running after pc.close() (a non-unref'd `setTimeout` of 5/6 of the
 * 600 s lifetime in ice/src/turn/protocol.js), which would keep the process alive for minutes after a relayed
 * transfer. Once the command is done (result or error rendered, exit code set by src/cli/run.ts), do not let it.
 */
function exitSoonAfterDone(): void {
  const tick = (): void => {
    // Never cut off output still queued for a slow reader (recv-file --stdout | slow-consumer).
    if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(tick, 200).unref();
    else process.exit();
  };
  setTimeout(tick, 1_500).unref();
}
