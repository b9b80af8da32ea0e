/**
 * What every peer command (send-file, recv-file, record, publish) shares on the command side: the flags that say how
 * to meet the other peer (a code, a room, manual copy/paste, ICE), turning them into connectPeer options, the spinner /
 * NDJSON rendering of the connection steps, and the flag hints for the session's errors (the library names no flags).
 * Declared and parsed here only.
 */
import { RtcError } from '../errors.js';
import type { IceConfig } from '../rtc/ice-config.js';
import { ENGINE_CHOICES, type EngineChoice } from '../rtc/engine/types.js';
import type { ManualOptions, PeerAuthOptions, PeerEvent, PeerRole } from '../rtc/peer.js';
import { MAX_CODE_WORDS, MIN_CODE_WORDS, parseCode } from '../rtc/auth/code.js';
import type { CommandContext, Spinner } from './context.js';
import type { Flag, FlagTable } from './flags.js';
import { withFlagHint, type FlagHints } from './flag-hints.js';
import { DEFAULT_SIGNAL_URL, ICE_FLAGS, iceConfigFrom, parseIntFlag, parseSecondsFlag, type IceOptionValues } from './options.js';

export const PEER_GROUP = 'Meeting the peer:';

/** The flags of every peer command (send-file, recv-file, record, publish): how to meet the other peer, and ICE. */
export interface PeerFlagValues extends IceOptionValues {
  signal: string;
  room?: string;
  token?: string;
  manual?: boolean;
  manualRole: PeerRole;
}

const MANUAL_ROLE: Flag<PeerRole> = {
  flags: '--manual-role <role>',
  help: 'in manual mode, which side prints the offer',
  choices: ['offerer', 'answerer'],
  default: 'offerer',
  group: PEER_GROUP,
};

/** The flags only peer commands take (peer-only: no other command has them; test/cli.test.ts checks). */
export const PEER_ONLY_FLAGS: FlagTable<Omit<PeerFlagValues, keyof IceOptionValues>> = {
  signal: {
    flags: '--signal <url>',
    env: 'RTC_SIGNAL_URL',
    default: DEFAULT_SIGNAL_URL,
    help: 'signaling server (ws:// or wss://, the URL `rtc-cli serve` prints), or "manual" to copy/paste the offer and answer',
    doc: 'signaling server (`ws://` or `wss://`, the URL `rtc-cli serve` prints); `manual` is the same as `--manual`',
    group: PEER_GROUP,
  },
  room: {
    flags: '--room <room>',
    help: 'meet the other peer in this room (send-file/recv-file: instead of with a code); the peer is then not authenticated',
    doc:
      'the room to meet the other peer in (required unless `--manual`, or a code for send-file/recv-file); the peer is not ' +
      'authenticated, which each command says once on stderr ([SECURITY.md](SECURITY.md))',
    group: PEER_GROUP,
  },
  token: {
    flags: '--token <secret>',
    env: 'RTC_TOKEN',
    help: 'shared secret of a `serve --token` server (prefer the env var; never printed)',
    doc: 'the secret of a `serve --token` server (the same variable `serve` reads; never printed)',
    group: PEER_GROUP,
  },
  manual: {
    flags: '--manual',
    help: 'no signaling server: exchange the offer and answer as one pasted line each (same as --signal manual)',
    doc: "no server: print our offer/answer as one line (`rtc1.offer.…`), paste the other side's line on stdin; same as `--signal manual`",
    group: PEER_GROUP,
  },
  manualRole: MANUAL_ROLE,
};

/** Every peer command's shared flags; `defaultRole` is the side it takes in manual mode. */
export function peerFlags(defaultRole: PeerRole): FlagTable<PeerFlagValues> {
  const manualRole = defaultRole === MANUAL_ROLE.default ? MANUAL_ROLE : { ...MANUAL_ROLE, default: defaultRole };
  return { ...PEER_ONLY_FLAGS, manualRole, ...ICE_FLAGS };
}

/** How long the side that made a code waits for the other side to type it, unless --timeout says otherwise. */
export const CODE_WAIT_MS = 10 * 60_000;

/** send-file: words in a new code. */
export const CODE_WORDS: Flag<number> = {
  flags: '--code-words <n>',
  help: `words in the code (${MIN_CODE_WORDS}-${MAX_CODE_WORDS}, 8 bits each)`,
  parse: parseIntFlag('--code-words', MIN_CODE_WORDS, MAX_CODE_WORDS),
  default: MIN_CODE_WORDS,
  group: PEER_GROUP,
};

/** recv-file: the code, as a flag (the positional [code] says the same). */
export const CODE: Flag<string | undefined> = {
  flags: '--code <code>',
  help: 'the code the sender printed (same as giving it as the argument); checked word by word before connecting',
  group: PEER_GROUP,
};

/**
 * `--engine`: the data-channel stack of send-file/recv-file (src/rtc/engine). `auto` runs node-datachannel when its
 * optional binary loads (the fastest), else werift and says why once on stderr (the `engine` event, peerRenderer).
 */
/** send-file/recv-file: which data-channel engine (src/rtc/engine). */
export const ENGINE: Flag<EngineChoice> = {
  flags: '--engine <engine>',
  help: 'data-channel engine: native (node-datachannel, optional dependency), werift (pure TypeScript), or auto (native when it loads)',
  choices: ENGINE_CHOICES,
  default: 'auto',
};

/** `--idle-timeout`: how long silence on the data channel means the peer is gone (manual mode has no peer-left). */
export const IDLE_TIMEOUT: Flag<number> = {
  flags: '--idle-timeout <seconds>',
  help: 'treat the peer as gone when nothing arrives from it for this long',
  parse: parseSecondsFlag('--idle-timeout', 1),
  default: 15_000,
  defaultText: '15',
};

export interface PeerTarget {
  ice: IceConfig;
  /** The signaling URL, or 'manual'. */
  signal: string;
  room: string;
  token?: string;
  /** Set in manual mode: where the line goes and where the other side's line comes from. */
  manual?: ManualOptions;
  /** Set in code mode (docs/peer-auth.md). */
  auth?: PeerAuthOptions;
  /** Code mode, the side that made the code: how long to wait for the other side to use it. */
  peerWaitMs?: number;
}

/** How the command meets its peer: the side that makes codes (send-file), the side that types them (recv-file). */
export type CodeSide = 'create' | 'join';

interface TargetOptions {
  command: string;
  example: string;
  manualLine: (line: string) => void;
  stdinBusy?: string;
  /**
   * send-file: 'create' with --code-words; recv-file: 'join' with the code typed as the argument and/or --code.
   * Absent: the command has no codes.
   */
  code?: { side: CodeSide; positional?: string; flag?: string; words?: number; timeoutGiven?: boolean };
}

function usage(message: string, hint: string): RtcError {
  return new RtcError('RTC_ERR_USAGE', message, { hint });
}

/** The code mode the flags ask for, or undefined for --room / --manual. Throws RTC_ERR_USAGE on contradictions. */
function codeAuth(opts: PeerFlagValues, o: TargetOptions, manual: boolean): PeerAuthOptions | undefined {
  const c = o.code;
  if (!c) return undefined;
  const typed = c.positional ?? c.flag;
  if (c.positional !== undefined && c.flag !== undefined && c.positional !== c.flag) {
    throw usage(`two different codes were given ("${c.positional}" and --code)`, 'give the code once');
  }
  if (typed !== undefined && (manual || opts.room)) {
    throw usage(`a code cannot be combined with ${manual ? '--manual' : '--room'}: the code already says where to meet`, `${o.command} ${'<code>'}`);
  }
  if (manual || opts.room) return undefined;
  if (c.side === 'create') return { create: true, words: c.words };
  if (typed === undefined) {
    throw usage(`${o.command} needs the code the sender printed (or --room <room>, or --manual)`, o.example);
  }
  return { code: parseCode(typed).code };
}

/**
 * Validate the peer flags into connectPeer's options. `stdinBusy` names what else wants stdin (e.g. `"-"` to send
 * stdin, `--chat`): manual mode reads the pasted line from stdin, so the two cannot go together. A session in a
 * --room is not authenticated: that is said once, here, on stderr.
 */
export function peerTargetFrom(ctx: CommandContext, opts: PeerFlagValues, o: TargetOptions): PeerTarget {
  const manual = Boolean(opts.manual) || opts.signal === 'manual';
  const auth = codeAuth(opts, o, manual);
  if (!manual && !opts.room && !auth) {
    throw usage(`${o.command} needs --room <room> (or --manual)`, o.example);
  }
  if (manual && o.stdinBusy) {
    throw usage(`in manual mode stdin carries the pasted line, so ${o.stdinBusy} cannot use it`, 'use a signaling server (rtc-cli serve) instead of --manual');
  }
  if (opts.room && !manual) warnUnauthenticated(ctx, opts.room, Boolean(o.code));
  return {
    ice: iceConfigFrom(opts),
    signal: manual ? 'manual' : opts.signal,
    room: opts.room ?? (auth ? 'code' : 'manual'),
    token: opts.token,
    manual: manual ? { output: o.manualLine, input: process.stdin, role: opts.manualRole } : undefined,
    auth,
    peerWaitMs: auth && 'create' in auth && !o.code?.timeoutGiven ? CODE_WAIT_MS : undefined,
  };
}

function warnUnauthenticated(ctx: CommandContext, room: string, codesExist: boolean): void {
  const instead = codesExist ? '; leave out --room to get a code that authenticates the peer' : '';
  ctx.out.warn(`the peer is not authenticated: anyone who reaches the signaling server and knows or guesses room "${room}" can take its place${instead}`);
}

/** The flag hints for the session's errors, for this command's way of meeting the peer (src/cli/flag-hints.ts). */
export function peerFlagHints(target: PeerTarget): FlagHints {
  const creator = Boolean(target.auth && 'create' in target.auth);
  const noPeer = target.manual
    ? 'paste the line the other side printed (or raise --timeout)'
    : creator
      ? 'run `rtc-cli recv-file <code>` on the other side in time (or raise --timeout)'
      : 'start the other side with the same --room and --signal (or raise --timeout)';
  // RTC_ERR_PEER_AUTH keeps the library's hint: it names no flag and differs by cause (a new code, another network).
  return {
    code: {
      RTC_ERR_NO_PEER: noPeer,
      RTC_ERR_ICE_FAILED: 'no candidate pair worked: check firewalls, or add a TURN server with --ice-server turn:... (and --relay-only to force it)',
    },
  };
}

/** `p`, with the session's errors carrying hints that name this command's flags. */
export async function withPeerHints<T>(p: Promise<T>, target: PeerTarget): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw withFlagHint(e, peerFlagHints(target));
  }
}

export interface PeerRenderer {
  spinner: Spinner;
  /** Print a manual offer/answer line: alone on stdout (stderr when stdout carries data) so it can be copied. */
  manualLine(line: string): void;
  onEvent(e: PeerEvent): void;
  /** One NDJSON event (stdout, or stderr when stdout carries data). */
  event(o: Record<string, unknown>): void;
  /** Stop the spinner when `p` settles (fail mark on error); flag hints on the session's errors. */
  wrap<T>(p: Promise<T>): Promise<T>;
  /** An onProgress callback: a `progress` NDJSON event, and `format(p)` as the spinner's text on a TTY. */
  progress<P extends object>(format: (p: P) => string): (p: P) => void;
}

/** Spinner text and NDJSON events for the connection steps every peer command goes through. */
export function peerRenderer(
  ctx: CommandContext,
  formatPeerEvent: (e: PeerEvent) => string | undefined,
  o: { manual: boolean; dataOnStdout: boolean; target?: PeerTarget },
): PeerRenderer {
  const spinner = ctx.out.spinner(o.manual ? 'gathering candidates' : 'connecting to the signaling server');
  const event = (obj: Record<string, unknown>): void => {
    if (!ctx.out.json) return;
    if (o.dataOnStdout) process.stderr.write(JSON.stringify(obj) + '\n');
    else ctx.out.event(obj);
  };
  const status = (e: PeerEvent): string | undefined => {
    if (e.type === 'authenticating') return 'checking the code with the peer';
    if (e.type === 'authenticated') return 'code verified; connecting';
    return formatPeerEvent(e);
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
      if (e.type === 'code') {
        showCode(ctx, e.code);
        return;
      }
      if (e.type === 'engine' && e.fallback) ctx.out.warn(e.fallback);
      const text = status(e);
      if (!text) return;
      if (ctx.out.interactive) spinner.text(text);
      else if (e.type === 'connected' || e.type === 'waiting-for-peer' || e.type === 'manual-waiting') ctx.out.info(text);
    },
    progress(format) {
      return (p) => {
        event({ event: 'progress', ...p });
        if (ctx.out.interactive) spinner.text(format(p));
      };
    },
    async wrap(p) {
      try {
        const r = await (o.target ? withPeerHints(p, o.target) : p);
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
 * The code, for the person at the other machine: on stderr (it is an instruction, not the result; --json has the
 * event), even with --quiet, which has no spinner to print around.
 */
function showCode(ctx: CommandContext, code: string): void {
  if (ctx.out.json) return;
  const text = `code: ${ctx.out.color.bold(code)}\non the other machine run: rtc-cli recv-file ${code}`;
  if (ctx.out.quiet) process.stderr.write(text + '\n');
  else ctx.out.info(text);
}
