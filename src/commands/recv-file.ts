/**
 * `rtc-cli recv-file <code> [--out <dir>]`: receive the files the `send-file` peer that printed the code sends (or the
 * one in `--room`). Protocol: docs/file-transfer-protocol.md, codes: docs/peer-auth.md. Logic: src/rtc/file-transfer.ts.
 */
import { InvalidArgumentError } from 'commander';
import { defineCommand } from '../cli/flags.js';
import { timeoutFlag } from '../cli/options.js';
import { CODE, ENGINE, IDLE_TIMEOUT, peerFlags, peerRenderer, peerTargetFrom, type PeerFlagValues } from '../cli/peer.js';
import type { EngineChoice } from '../rtc/engine/types.js';

interface RecvFlags extends PeerFlagValues {
  out: string;
  force?: boolean;
  stdout?: boolean;
  allowDotfiles?: boolean;
  maxSize?: number;
  timeout: number;
  idleTimeout: number;
  code?: string;
  engine: EngineChoice;
}

const SAVING = 'Saving files:';

export const command = defineCommand<RecvFlags>({
  name: 'recv-file',
  group: 'peers',
  summary: 'receive files from the send-file peer whose code you type, into --out (SHA-256 verified, resumable)',
  args: [{ name: '[code]', help: 'the code send-file printed, e.g. 7-guitarist-revenge' }],
  flags: {
    out: { flags: '--out <dir>', help: 'directory to save into (must exist)', doc: 'where files go (must exist; else exit 2 `RTC_ERR_BAD_OUTPUT`)', default: '.', group: SAVING },
    force: { flags: '--force', help: 'overwrite existing files, never a dotfile (default: save as "name (1).ext" and say so)', group: SAVING },
    stdout: {
      flags: '--stdout',
      help: 'write the received bytes to stdout instead of files (no partial file, no resume)',
      conflicts: ['force'],
      group: SAVING,
    },
    allowDotfiles: { flags: '--allow-dotfiles', help: 'accept names starting with "." (refused by default; --force still never replaces one)', group: SAVING },
    maxSize: {
      flags: '--max-size <size>',
      help: 'refuse any file larger than this: bytes, or with a unit (500M, 2G, 1.5GiB, 10MB)',
      doc: 'refuse any file larger than this: bytes, `K`/`M`/`G`/`T` or `KiB`…`TiB` (powers of 1024), `kB`…`TB` (powers of 1000)',
      parse: parseSize,
      defaultText: 'none',
      group: SAVING,
    },
    timeout: {
      ...timeoutFlag(60, 'give up if no peer joins or connects within this many seconds'),
      doc: 'no peer joined / no connection within it → exit 1 (`RTC_ERR_NO_PEER` / `RTC_ERR_ICE_FAILED`)',
    },
    idleTimeout: {
      ...IDLE_TIMEOUT,
      doc:
        'nothing from the peer for this long → `RTC_ERR_PEER_LEFT`; keepalives only, no data and no step, for this long → ' +
        '`RTC_ERR_STALLED` (raise it for a sender reading a slow pipe)',
    },
    code: CODE,
    engine: ENGINE,
    ...peerFlags('answerer'),
  },
  helpAfter: `
With a code, start it after send-file printed the code; a wrong code fails on both sides (RTC_ERR_PEER_AUTH) and
the sender's code is used up. With --room, either side may start first.
Each file is written into <out>/.rtc-cli-partial/ and moved into place only after its
SHA-256 matches; an existing file is never overwritten without --force (the new one is saved as "name (1).ext"
instead). Names from the network are judged: directories are stripped; absolute paths, "..", empty and reserved names,
dotfiles, control, invisible and direction-changing characters and names over 255 bytes are refused (that file only).
A file larger than --max-size or the free space is refused before any byte is written. A sender that keeps the
connection alive but makes no progress for --idle-timeout is dropped.
Interrupted? Run the same commands again: the transfer resumes from the verified partial file.
Exit codes: 2 bad --out or malformed code, 1 no peer within --timeout / wrong code / peer left or stalled / hash
mismatch / write failure / refused file, 130 Ctrl-C.

Examples:
  rtc-cli recv-file 7-guitarist-revenge --out ~/in      # the code send-file printed
  rtc-cli recv-file --room demo --out ~/in              # other terminal: rtc-cli send-file --room demo a.bin
  rtc-cli recv-file --room demo --stdout | tar x
  rtc-cli recv-file --manual --out .                     # paste the sender's offer line; copy back the answer line`,
  run: async (ctx, opts, args) => {
    const toStdout = Boolean(opts.stdout);
    if (toStdout) ctx.stdoutCarriesData();
    let manualLine: (line: string) => void = () => {};
    const target = peerTargetFrom(ctx, opts, {
      command: 'recv-file',
      example: 'rtc-cli recv-file 7-guitarist-revenge --out .',
      manualLine: (line) => manualLine(line),
      code: { side: 'join', positional: args[0], flag: opts.code },
    });
    const { receiveFiles } = await import('../rtc/file-transfer.js');
    const fmt = await import('../rtc/file-transfer-format.js');
    const render = peerRenderer(ctx, fmt.formatPeerEvent, { manual: Boolean(target.manual), dataOnStdout: toStdout, target });
    manualLine = render.manualLine;
    const result = await render.wrap(receiveFiles({
      outDir: opts.out,
      force: Boolean(opts.force),
      allowDotfiles: Boolean(opts.allowDotfiles),
      maxSize: opts.maxSize,
      stdout: toStdout ? process.stdout : undefined,
      ...target,
      timeoutMs: opts.timeout,
      idleTimeoutMs: opts.idleTimeout,
      engine: opts.engine,
      abort: ctx.signal,
      onEvent: render.onEvent,
      onProgress: render.progress(fmt.formatProgress),
    }));
    // With --stdout the data owns stdout: result() then writes to stderr (ctx.stdoutCarriesData() above).
    ctx.out.result(result, () => fmt.formatResult(result));
  },
});

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** `--max-size`: bytes, K/M/G/T and KiB/MiB/GiB/TiB in powers of 1024, kB/MB/GB/TB in powers of 1000 (as GNU tools). */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`--max-size must be a size such as 1048576, 500M, 2G or 1.5GiB (got "${value}")`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`--max-size is too large (got "${value}")`);
  return bytes;
}
