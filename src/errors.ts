/**
 * The one error type of rtc-cli. Every failure a user can meet carries a stable `RTC_ERR_*` code (documented in the
 * README, never renamed), an exit code, and, where there is one, a hint that says how to fix it.
 *
 * Exit codes (the only place they are defined):
 *   0  success
 *   1  the thing checked or attempted failed (peer never came, TURN did not relay, hash mismatch, ...)
 *   2  usage or input error (bad flag, bad URL, unreadable file, ...)
 *
 * Library code throws RtcError; only src/cli.ts turns it into output and an exit code.
 */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report it: the user interrupted a peer command. */
export const EXIT_INTERRUPTED = 130;

/** Every code, its exit code and a one-line description. The README table is checked against this list by a test. */
export const ERROR_CODES = {
  // usage / input (exit 2)
  RTC_ERR_USAGE: { exit: EXIT_USAGE, doc: 'A flag or argument is missing, unknown or malformed.' },
  RTC_ERR_BAD_URL: { exit: EXIT_USAGE, doc: 'A stun:/turn:/turns:/ws(s):// URL could not be parsed.' },
  RTC_ERR_BAD_ADDRESS: { exit: EXIT_USAGE, doc: 'An IP address flag (e.g. --ice-address, --host) is not a valid address.' },
  RTC_ERR_FILE_NOT_FOUND: { exit: EXIT_USAGE, doc: 'An input file does not exist.' },
  RTC_ERR_FILE_UNREADABLE: { exit: EXIT_USAGE, doc: 'An input file exists but cannot be read.' },
  RTC_ERR_BAD_OUTPUT: { exit: EXIT_USAGE, doc: 'An output path is of the wrong kind or its directory is not writable.' },
  RTC_ERR_BAD_MEDIA: { exit: EXIT_USAGE, doc: 'An input media file is not a VP8 IVF or a VP8/Opus WebM that publish can send.' },
  RTC_ERR_BAD_SDP: { exit: EXIT_USAGE, doc: 'An SDP offer/answer could not be parsed.' },
  RTC_ERR_CERT: { exit: EXIT_USAGE, doc: 'The TLS certificate or key given with --cert/--key cannot be used.' },
  RTC_ERR_ENGINE_UNAVAILABLE: { exit: EXIT_USAGE, doc: 'send-file/recv-file --engine native was asked for but node-datachannel (an optional dependency) cannot be loaded on this install or platform.' },

  // the thing attempted failed (exit 1)
  RTC_ERR_TIMEOUT: { exit: EXIT_FAILED, doc: 'Something did not happen within its --timeout.' },
  RTC_ERR_NO_PEER: { exit: EXIT_FAILED, doc: 'No peer joined the room within --timeout.' },
  RTC_ERR_PEER_LEFT: { exit: EXIT_FAILED, doc: 'The remote peer left or vanished before the work was done.' },
  RTC_ERR_PEER_AUTH: { exit: EXIT_FAILED, doc: 'The peer could not be authenticated: a wrong, mistyped or already used code (a code allows one attempt), signaling altered in transit, or a DTLS peer that failed to prove its identity (its certificate is not the one its description\'s fingerprint names, or a handshake signature or Finished did not verify).' },
  RTC_ERR_ICE_FAILED: { exit: EXIT_FAILED, doc: 'ICE found no working candidate pair (firewall, NAT, or TURN needed).' },
  RTC_ERR_SIGNAL_CONNECT: { exit: EXIT_FAILED, doc: 'The signaling server could not be reached.' },
  RTC_ERR_SIGNAL_AUTH: { exit: EXIT_FAILED, doc: 'The signaling server refused the token.' },
  RTC_ERR_ROOM_FULL: { exit: EXIT_FAILED, doc: 'The room already holds --room-size peers.' },
  RTC_ERR_SIGNAL_REFUSED: { exit: EXIT_FAILED, doc: 'The signaling server refused a message (see the reason it gave).' },
  RTC_ERR_LISTEN: { exit: EXIT_FAILED, doc: 'A server could not listen on the requested host/port (in use, or not permitted).' },
  RTC_ERR_HASH_MISMATCH: { exit: EXIT_FAILED, doc: 'A received file did not match the SHA-256 the sender announced.' },
  RTC_ERR_WRITE: { exit: EXIT_FAILED, doc: 'Writing output failed (disk full, permission, path vanished).' },
  RTC_ERR_EXISTS: { exit: EXIT_FAILED, doc: 'The output file exists and --force was not given.' },
  RTC_ERR_PROTOCOL: { exit: EXIT_FAILED, doc: 'The peer broke the transfer/signaling protocol.' },
  RTC_ERR_UNSAFE_NAME: { exit: EXIT_FAILED, doc: 'The sender offered a file name that cannot be saved safely (absolute, "..", reserved, a dotfile, invisible or direction-changing characters, too long); the file was refused.' },
  RTC_ERR_TOO_LARGE: { exit: EXIT_FAILED, doc: 'A file was larger than recv-file --max-size or the free space in --out; it was refused before any byte was written (or, for a stream of unknown size, stopped and removed).' },
  RTC_ERR_STALLED: { exit: EXIT_FAILED, doc: 'The peer kept the connection alive but sent no file data and took no protocol step for --idle-timeout.' },
  RTC_ERR_DNS: { exit: EXIT_FAILED, doc: 'A host name did not resolve.' },
  RTC_ERR_UNREACHABLE: { exit: EXIT_FAILED, doc: 'The server could not be reached (ICMP unreachable, connection refused).' },
  RTC_ERR_STUN: { exit: EXIT_FAILED, doc: 'A STUN server answered with an error or could not be probed.' },
  RTC_ERR_TURN_AUTH: { exit: EXIT_FAILED, doc: 'The TURN server rejected the credentials (401 after authenticating).' },
  RTC_ERR_TURN_FORBIDDEN: { exit: EXIT_FAILED, doc: 'The TURN server answered 403 Forbidden.' },
  RTC_ERR_TURN_QUOTA: { exit: EXIT_FAILED, doc: 'The TURN server answered 486 Allocation Quota Reached.' },
  RTC_ERR_TURN: { exit: EXIT_FAILED, doc: 'A TURN request failed for another reason (the message says which).' },
  RTC_ERR_TLS: { exit: EXIT_FAILED, doc: 'A TLS handshake failed (untrusted certificate, wrong name, protocol).' },
  RTC_ERR_RELAY_NO_DATA: { exit: EXIT_FAILED, doc: 'The relay allocated but no data came back through it.' },
  RTC_ERR_NO_MEDIA: { exit: EXIT_FAILED, doc: 'The peer sent no media within --timeout.' },
  RTC_ERR_REDIS: { exit: EXIT_FAILED, doc: 'serve --redis: the Redis server could not be reached or refused the credentials (the password is never printed).' },
  RTC_ERR_INTERRUPTED: { exit: EXIT_INTERRUPTED, doc: 'Interrupted by SIGINT/SIGTERM before the work was done.' },
  RTC_ERR_INTERNAL: { exit: EXIT_FAILED, doc: 'A bug in rtc-cli: please report it with the --verbose output.' },
} as const satisfies Record<string, { exit: number; doc: string }>;

export type RtcErrorCode = keyof typeof ERROR_CODES;

export interface RtcErrorOptions {
  /** How to fix it, in one sentence ("pass --force to overwrite"). */
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts for --json output. Never put credentials here. */
  details?: Record<string, unknown>;
}

export class RtcError extends Error {
  readonly code: RtcErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: RtcErrorCode, message: string, options: RtcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtcError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): { code: RtcErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isRtcError(e: unknown): e is RtcError {
  return e instanceof RtcError;
}

/** Wrap anything thrown into an RtcError (unknown errors become RTC_ERR_INTERNAL, keeping the cause). */
export function toRtcError(e: unknown): RtcError {
  if (e instanceof RtcError) return e;
  const message = e instanceof Error ? e.message || e.name : String(e);
  return new RtcError('RTC_ERR_INTERNAL', message || 'unknown error', { cause: e });
}

/**
 * What an aborted wait rejects with: the abort reason when it already is an RtcError (src/cli/run.ts aborts with
 * RTC_ERR_INTERRUPTED naming the signal), otherwise RTC_ERR_INTERRUPTED with `message` and the reason as cause.
 */
export function interruptError(reason: unknown, message = 'interrupted'): RtcError {
  if (reason instanceof RtcError) return reason;
  return new RtcError('RTC_ERR_INTERRUPTED', message, reason === undefined ? {} : { cause: reason });
}

/** The exit code for anything thrown. The one mapping from errors to exit codes. */
export function exitCodeFor(e: unknown): number {
  return toRtcError(e).exitCode;
}
