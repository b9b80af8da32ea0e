/**
 * The one place that turns a command's outcome into output and an exit code.
 *
 * The program builder (src/cli.ts) wraps every command's handler with `action()`. The handler gets a CommandContext
 * and its parsed options; it calls one library function and renders the result. Anything it throws is rendered here:
 * an RtcError prints its message and hint (or `{"error":{code,message,hint}}` with --json) and sets its exit code.
 */
import { Command, CommanderError } from 'commander';
import { RtcError, toRtcError, EXIT_INTERRUPTED, EXIT_USAGE } from '../errors.js';
import { createOutput, type CommandContext, type FlagSource, type GlobalFlags } from './context.js';
import type { AnyFlagTable, Handler } from './flags.js';
import { applyRenamed, renamedWarning } from './renamed.js';

/** Where a run writes and how it reports its exit code: the process's by default, other streams in a test. */
export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  setExitCode(code: number): void;
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/** Shared between actions: the SIGINT/SIGTERM controller is installed once per process. */
let interrupt: AbortController | undefined;

function installSignalHandlers(): AbortController {
  if (interrupt) return interrupt;
  const ac = new AbortController();
  interrupt = ac;
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count += 1;
    if (count === 1) {
      ac.abort(new RtcError('RTC_ERR_INTERRUPTED', `interrupted by ${sig}`));
    } else {
      // A second Ctrl-C means "now": do not wait for graceful shutdown.
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac;
}

export function globalFlagsOf(cmd: Command): GlobalFlags {
  const all = cmd.optsWithGlobals() as Record<string, unknown>;
  return { json: Boolean(all.json), verbose: Boolean(all.verbose), quiet: Boolean(all.quiet) };
}

/**
 * Wrap a command handler. `flags` is the command's flag table: old spellings of renamed flags are moved to their keys
 * first (one deprecation line). `opts` are the command's own options merged with the global ones.
 */
export function action(handler: Handler<Record<string, unknown>>, flags: AnyFlagTable, io: CliIO = processIO()) {
  return async (...argv: unknown[]): Promise<void> => {
    const cmd = argv[argv.length - 1] as Command;
    const env = process.env;
    const global = globalFlagsOf(cmd);
    const out = await createOutput(global, env, io);
    const ac = installSignalHandlers();
    let exitCode = 0;
    let dataOnStdout = false;
    const ctx: CommandContext = {
      flags: global,
      out,
      signal: ac.signal,
      env,
      setExitCode: (c) => {
        exitCode = c;
      },
      stdoutCarriesData: () => {
        dataOnStdout = true;
        out.resultsToStderr();
      },
      flagSource: (key) => cmd.getOptionValueSource(key) as FlagSource | undefined,
    };
    try {
      const renamed = applyRenamed(cmd, flags, env);
      if (renamed.length) out.warn(renamedWarning(renamed));
      await handler(ctx, cmd.optsWithGlobals(), cmd.args);
      io.setExitCode(exitCode);
    } catch (e) {
      const err = toRtcError(e);
      renderError(err, global, dataOnStdout ? io.stderr : io.stdout, io.stderr);
      io.setExitCode(err.exitCode);
    }
  };
}

export function renderError(
  err: RtcError,
  flags: Pick<GlobalFlags, 'json' | 'verbose'>,
  jsonStream: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): void {
  if (flags.json) {
    jsonStream.write(JSON.stringify({ ok: false, error: err.toJSON() }) + '\n');
  }
  // Humans always get the message on stderr, even with --json (scripts read stdout).
  let text = `error: ${err.message} [${err.code}]`;
  if (err.hint) text += `\n  hint: ${err.hint}`;
  if (flags.verbose && err.cause instanceof Error && err.cause.stack) text += `\n${err.cause.stack}`;
  else if (flags.verbose && err.code === 'RTC_ERR_INTERNAL' && err.stack) text += `\n${err.stack}`;
  stderr.write(text + '\n');
}

/**
 * Commander usage errors (unknown flag, missing argument, invalid value) become RTC_ERR_USAGE, exit 2. Commander has
 * printed its message already; `hint` (how to fix it) goes below it and into the --json error.
 */
export function handleCommanderError(e: unknown, json: boolean, io: CliIO = processIO(), hint?: string): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (hint) io.stderr.write(`  hint: ${hint}\n`);
    if (json) {
      const msg = e.message.replace(/^error: /, '');
      io.stdout.write(JSON.stringify({ ok: false, error: { code: 'RTC_ERR_USAGE', message: msg, ...(hint ? { hint } : {}) } }) + '\n');
    }
    return EXIT_USAGE;
  }
  const err = toRtcError(e);
  renderError(err, { json, verbose: true }, io.stdout, io.stderr);
  return err.exitCode;
}
