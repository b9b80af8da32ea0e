/**
 * What every peer command (send-file, recv-file, record, publish) shares on the command side: the flags that say how
 * to meet the other peer (room, token, manual copy/paste, ICE), turning them into connectPeer options, the spinner /
 * NDJSON rendering of the connection steps. Declared and parsed here only.
 */
import { Option, type Command } from 'commander';
import { RtcError } from '../errors.js';
import type { IceConfig } from '../rtc/ice-config.js';
import type { ManualOptions, PeerEvent, PeerRole } from '../rtc/peer.js';
import type { CommandContext, Spinner } from './context.js';
import { addIceOptions, iceConfigFrom, parseSecondsFlag, type IceOptionValues } from './options.js';

export interface PeerFlagValues extends IceOptionValues {
  room?: string;
  token?: string;
  manual?: boolean;
  manualRole?: PeerRole;
}

/** --room, --token, --manual, --manual-role and the shared ICE flags. */
export function addPeerOptions(cmd: Command, o: { roomHelp: string; defaultRole: PeerRole }): Command {
  cmd
    .option('--room <room>', o.roomHelp)
    .addOption(new Option('--token <secret>', 'shared secret of a `serve --token` server').env('RTC_TOKEN'))
    .addOption(new Option('--manual', 'no signaling server: exchange the offer and answer as one pasted line each (same as --signal manual)'))
    .addOption(new Option('--manual-role <role>', 'in manual mode, which side prints the offer').choices(['offerer', 'answerer']).default(o.defaultRole));
  return addIceOptions(cmd);
}

/** `--idle-timeout`: how long silence on the data channel means the peer is gone (manual mode has no peer-left). */
export function idleTimeoutOption(): Option {
  return new Option('--idle-timeout <seconds>', 'treat the peer as gone when nothing arrives from it for this long')
    .argParser(parseSecondsFlag('--idle-timeout', 1))
    .default(15_000, '15');
}

export interface PeerTarget {
  ice: IceConfig;
  /** The signaling URL, or 'manual'. */
  signal: string;
  room: string;
  token?: string;
  /** Set in manual mode: where the line goes and where the other side's line comes from. */
  manual?: ManualOptions;
}

/**
 * Validate the peer flags into connectPeer's options. `stdinBusy` names what else wants stdin (e.g. `"-"` to send
 * stdin, `--chat`): manual mode reads the pasted line from stdin, so the two cannot go together.
 */
export function peerTargetFrom(
  ctx: CommandContext,
  opts: PeerFlagValues,
  o: { command: string; example: string; manualLine: (line: string) => void; stdinBusy?: string },
): PeerTarget {
  const manual = Boolean(opts.manual) || ctx.flags.signal === 'manual';
  if (!manual && !opts.room) {
    throw new RtcError('RTC_ERR_USAGE', `${o.command} needs --room <room> (or --manual)`, { hint: o.example });
  }
  if (manual && o.stdinBusy) {
    throw new RtcError('RTC_ERR_USAGE', `in manual mode stdin carries the pasted line, so ${o.stdinBusy} cannot use it`, {
      hint: 'use a signaling server (rtc-cli serve) instead of --manual',
    });
  }
  return {
    ice: iceConfigFrom(opts),
    signal: manual ? 'manual' : ctx.flags.signal,
    room: opts.room ?? 'manual',
    token: opts.token,
    manual: manual ? { output: o.manualLine, input: process.stdin, role: opts.manualRole } : undefined,
  };
}

export interface PeerRenderer {
  spinner: Spinner;
  /** Print a manual offer/answer line: alone on stdout (stderr when stdout carries data) so it can be copied. */
  manualLine(line: string): void;
  onEvent(e: PeerEvent): void;
  /** One NDJSON event (stdout, or stderr when stdout carries data). */
  event(o: Record<string, unknown>): void;
  /** Stop the spinner when `p` settles (fail mark on error). */
  wrap<T>(p: Promise<T>): Promise<T>;
}

/** Spinner text and NDJSON events for the connection steps every peer command goes through. */
export function peerRenderer(
  ctx: CommandContext,
  formatPeerEvent: (e: PeerEvent) => string | undefined,
  o: { manual: boolean; dataOnStdout: boolean },
): PeerRenderer {
  const spinner = ctx.out.spinner(o.manual ? 'gathering candidates' : 'connecting to the signaling server');
  const event = (obj: Record<string, unknown>): void => {
    if (!ctx.out.json) return;
    if (o.dataOnStdout) process.stderr.write(JSON.stringify(obj) + '\n');
    else ctx.out.event(obj);
  };
  return {
    spinner,
    event,
    manualLine(line) {
      if (ctx.out.json) return; // the NDJSON event carries it
      (o.dataOnStdout ? process.stderr : process.stdout).write(line + '\n');
    },
    onEvent(e) {
      if (e.type === 'manual-offer' || e.type === 'manual-answer') {
        event({ event: e.type, line: e.line });
        ctx.out.info(`copy the line above to the other side${e.type === 'manual-offer' ? ', then paste its answer line here' : ''}`);
        return;
      }
      event({ event: e.type, ...e, type: undefined });
      const text = formatPeerEvent(e);
      if (!text) return;
      if (ctx.out.interactive) spinner.text(text);
      else if (e.type === 'connected' || e.type === 'waiting-for-peer' || e.type === 'manual-waiting') ctx.out.info(text);
    },
    async wrap(p) {
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
