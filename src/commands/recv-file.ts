/**
 * `rtc-cli recv-file --room <room> [--out <dir>]`: receive the files a `send-file` peer in the room sends.
 * Protocol: docs/file-transfer-protocol.md. Logic: src/rtc/file-transfer.ts.
 */
import { Option, type Command } from 'commander';
import { action } from '../cli/run.js';
import { timeoutOption } from '../cli/options.js';
import { addPeerOptions, idleTimeoutOption, peerRenderer, peerTargetFrom, type PeerFlagValues } from '../cli/peer.js';

interface RecvFlags extends PeerFlagValues {
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
    .addOption(new Option('--out <dir>', 'directory to save into (must exist)').default('.'))
    .addOption(new Option('--force', 'overwrite existing files (default: save as "name (1).ext" and say so)'))
    .addOption(new Option('--stdout', 'write the received bytes to stdout instead of files (no .part, no resume)').conflicts('force'))
    .addOption(timeoutOption(60, 'give up if no peer joins or connects within this many seconds'))
    .addOption(idleTimeoutOption());
  addPeerOptions(cmd, { roomHelp: 'room to join on the signaling server (the sender joins the same room)', defaultRole: 'answerer' });
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
        const toStdout = Boolean(opts.stdout);
        if (toStdout) ctx.stdoutCarriesData();
        let manualLine: (line: string) => void = () => {};
        const target = peerTargetFrom(ctx, opts, {
          command: 'recv-file',
          example: 'rtc-cli recv-file --room demo --out .',
          manualLine: (line) => manualLine(line),
        });
        const { receiveFiles } = await import('../rtc/file-transfer.js');
        const fmt = await import('../rtc/file-transfer-format.js');
        const render = peerRenderer(ctx, fmt.formatPeerEvent, { manual: Boolean(target.manual), dataOnStdout: toStdout });
        manualLine = render.manualLine;
        const result = await render.wrap(receiveFiles({
          outDir: opts.out,
          force: Boolean(opts.force),
          stdout: toStdout ? process.stdout : undefined,
          ...target,
          timeoutMs: opts.timeout,
          idleTimeoutMs: opts.idleTimeout,
          abort: ctx.signal,
          onEvent: render.onEvent,
          onProgress: (p) => {
            render.event({ event: 'progress', ...p });
            if (ctx.out.interactive) render.spinner.text(fmt.formatProgress(p));
          },
        }));
        // With --stdout the data owns stdout: result() then writes to stderr (ctx.stdoutCarriesData() above).
        ctx.out.result(result, () => fmt.formatResult(result));
      }),
    );
}
