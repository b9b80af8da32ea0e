/**
 * The one place that turns a command's outcome into output and an exit code.
 *
 * Command files declare their flags and wrap their handler with `action()`. The handler gets a CommandContext and
 * its parsed options; it calls one library function and renders the result. Anything it throws is rendered here:
 * an RtcError prints its message and hint (or `{"error":{code,message,hint}}` with --json) and sets its exit code.
 */
import { Command, CommanderError } from 'commander';
import { RtcError, toRtcError, EXIT_INTERRUPTED, EXIT_USAGE } from '../errors.js';
import { createOutput, type CommandContext, type GlobalFlags } from './context.js';
import { DEFAULT_SIGNAL_URL } from './options.js';

type Handler<O> = (ctx: CommandContext, opts: O, args: string[]) => Promise<void>;

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

export function globalFlagsOf(cmd: Command, env: NodeJS.ProcessEnv): GlobalFlags {
  const all = cmd.optsWithGlobals() as Record<string, unknown>;
  return {
    signal: (all.signal as string | undefined) ?? env.RTC_SIGNAL_URL ?? DEFAULT_SIGNAL_URL,
    json: Boolean(all.json),
    verbose: Boolean(all.verbose),
    quiet: Boolean(all.quiet),
  };
}

/** Wrap a command handler. `opts` are the command's own options merged with the global ones. */
export function action<O extends object>(handler: Handler<O>) {
  return async (...argv: unknown[]): Promise<void> => {
    const cmd = argv[argv.length - 1] as Command;
    const env = process.env;
    const flags = globalFlagsOf(cmd, env);
    const out = await createOutput(flags, env);
    const ac = installSignalHandlers();
    let exitCode = 0;
    let dataOnStdout = false;
    const ctx: CommandContext = {
      flags,
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
    };
    try {
      await handler(ctx, cmd.optsWithGlobals() as O, cmd.args);
      process.exitCode = exitCode;
    } catch (e) {
      const err = toRtcError(e);
      renderError(err, flags, dataOnStdout ? process.stderr : process.stdout);
      process.exitCode = err.exitCode;
    }
  };
}

export function renderError(err: RtcError, flags: Pick<GlobalFlags, 'json' | 'verbose'>, jsonStream: NodeJS.WritableStream = process.stdout): void {
  if (flags.json) {
    jsonStream.write(JSON.stringify({ ok: false, error: err.toJSON() }) + '\n');
  }
  // Humans always get the message on stderr, even with --json (scripts read stdout).
  let text = `error: ${err.message} [${err.code}]`;
  if (err.hint) text += `\n  hint: ${err.hint}`;
  if (flags.verbose && err.cause instanceof Error && err.cause.stack) text += `\n${err.cause.stack}`;
  else if (flags.verbose && err.code === 'RTC_ERR_INTERNAL' && err.stack) text += `\n${err.stack}`;
  process.stderr.write(text + '\n');
}

/** Commander usage errors (unknown flag, missing argument, invalid value) become RTC_ERR_USAGE, exit 2. */
export function handleCommanderError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (json) {
      const msg = e.message.replace(/^error: /, '');
      process.stdout.write(JSON.stringify({ ok: false, error: { code: 'RTC_ERR_USAGE', message: msg } }) + '\n');
    }
    return EXIT_USAGE;
  }
  const err = toRtcError(e);
  renderError(err, { json, verbose: true });
  return err.exitCode;
}
