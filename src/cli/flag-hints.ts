/**
 * Hints that name command-line flags belong to the command layer (library code does not know its flags): a command
 * passes what its library threw through withFlagHint, which gives an RtcError the hint this command's flags call for.
 */
import { RtcError, type RtcErrorCode } from '../errors.js';

/** How a command explains errors: by the library option at fault (details.option), or by code; undefined keeps the library's hint. */
export interface FlagHints {
  option?: Record<string, string>;
  code?: Partial<Record<RtcErrorCode, string>>;
  /** Anything else: a hint from the error itself (its code, details, message, hint), or undefined. */
  custom?: (e: RtcError) => string | undefined;
}

/** The hint these flags give for `e`, or undefined. */
export function flagHintFor(e: { code: RtcErrorCode; hint?: string; details?: Record<string, unknown>; message: string }, hints: FlagHints): string | undefined {
  const option = e.details?.option;
  if (typeof option === 'string' && hints.option?.[option]) return hints.option[option];
  return hints.custom?.(e as RtcError) ?? hints.code?.[e.code];
}

/** `e` with the command's hint (errors that are not RtcError, or have no flag hint, pass unchanged). */
export function withFlagHint(e: unknown, hints: FlagHints): unknown {
  if (!(e instanceof RtcError)) return e;
  const hint = flagHintFor(e, hints);
  if (hint === undefined) return e;
  return new RtcError(e.code, e.message, { hint, cause: e.cause, details: e.details });
}
