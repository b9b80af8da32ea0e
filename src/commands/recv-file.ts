/**
 * `rtc-cli recv-file --room <room> [--out <dir>]`: receive the files a `send-file` peer in the room sends.
 * Protocol: docs/file-transfer-protocol.md. Logic: src/rtc/file-transfer.ts.
 */
import { Option, type Command } from 'commander';
import { action } from '../cli/run.js';
import { addIceOptions, iceConfigFrom, parseSecondsFlag, timeoutOption, type IceOptionValues } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import { RtcError } from '../errors.js';
import type { PeerEvent, PeerRole } from '../rtc/peer.js';
import type { TransferProgress } from '../rtc/file-transfer.js';

interface RecvFlags extends IceOptionValues {
  room?: string;
  token?: string;
  manual?: boolean;
  manualRole?: PeerRole;
  out: string;
  force?: boolean;
  stdout?: boolean;
  timeout: number;
  idleTimeout: number;
}

export function register(program: Command): Command {
  const cmd = program
    .command('recv-file')
    .description('receive files from the send-file peer in a room into --out (SHA-256 verified, resumable)')
    .option('--room <room>', 'room to join on the signaling server (the sender joins the same room)')
    .addOption(new Option('--token <secret>', 'shared secret of a `serve --token` server').env('RTC_TOKEN'))
    .addOption(new Option('--out <dir>', 'directory to save into (must exist)').default('.'))
    .addOption(new Option('--force', 'overwrite existing files (default: save as "name (1).ext" and say so)'))
    .addOption(new Option('--stdout', 'write the received bytes to stdout instead of files (no .part, no resume)').conflicts('force'))
    .addOption(new Option('--manual', 'no signaling server: paste the sender\'s offer line, print the answer line (same as --signal manual)'))
    .addOption(new Option('--manual-role <role>', 'in manual mode, which side prints the offer').choices(['offerer', 'answerer']).default('answerer'))
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
Either side may start first. Each file is written as <name>.part and renamed only after its SHA-256 matches; an
existing file is never overwritten without --force (the new one is saved as "name (1).ext" instead). Names from the
network are sanitised: directories are stripped; absolute paths, "..", empty and reserved names are refused.
Interrupted? Run the same commands again: the transfer resumes from the verified .part.
Exit codes: 2 bad --out, 1 no peer within --timeout / peer left / hash mismatch / write failure, 130 Ctrl-C.

Examples:
  rtc-cli recv-file --room demo --out ~/in              # other terminal: rtc-cli send-file --room demo a.bin
  rtc-cli recv-file --room demo --stdout | tar x
  rtc-cli recv-file --manual --out .                     # paste the sender's offer line; copy back the answer line`,
    )
    .action(
      action<RecvFlags>(async (ctx, opts) => {
        try {
          const manual = Boolean(opts.manual) || ctx.flags.signal === 'manual';
          if (!manual && !opts.room) {
            throw new RtcError('RTC_ERR_USAGE', 'recv-file needs --room <room> (or --manual)', { hint: 'rtc-cli recv-file --room demo --out .' });
          }
          const ice = iceConfigFrom(opts);
          const { receiveFiles } = await import('../rtc/file-transfer.js');
          const fmt = await import('../rtc/file-transfer-format.js');
          const toStdout = Boolean(opts.stdout);
          const render = peerRenderer(ctx, fmt, manual, toStdout);
          const result = await render.wrap(receiveFiles({
            outDir: opts.out,
            force: Boolean(opts.force),
            stdout: toStdout ? process.stdout : undefined,
            ice,
            signal: manual ? 'manual' : ctx.flags.signal,
            room: opts.room,
            token: opts.token,
            timeoutMs: opts.timeout,
            idleTimeoutMs: opts.idleTimeout,
            abort: ctx.signal,
            manual: manual ? { output: render.manualLine, input: process.stdin, role: opts.manualRole ?? 'answerer' } : undefined,
            onEvent: render.onEvent,
            onProgress: render.onProgress,
          }));
          // With --stdout the data owns stdout: the result goes to stderr (or nowhere with --quiet).
          if (toStdout) {
            if (ctx.out.json) process.stderr.write(JSON.stringify(result) + '\n');
            else ctx.out.info(fmt.formatResult(result));
          } else ctx.out.result(result, () => fmt.formatResult(result));
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
