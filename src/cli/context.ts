/**
 * What every command action gets: how to talk to the user (human text on a TTY, NDJSON/JSON for scripts) and an
 * AbortSignal that fires on SIGINT/SIGTERM. Only the command layer (src/commands, src/cli) uses this; library code
 * returns typed results and throws RtcError.
 */
import type { Ora } from 'ora';

/** Where a parsed flag value came from (commander's value sources). */
export type FlagSource = 'cli' | 'env' | 'default' | 'implied' | 'config';

/** The global flags (src/cli/options.ts GLOBAL_FLAGS), as every command sees them. */
export interface GlobalFlags {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** True when stderr is a terminal and we may draw colors/spinners. */
  readonly interactive: boolean;
  /** Human status line on stderr (suppressed by --quiet and --json). */
  info(message: string): void;
  /** Only with --verbose (stderr). */
  debug(message: string): void;
  /** A warning on stderr (shown even with --quiet unless --json, where it becomes an NDJSON event on stderr). */
  warn(message: string): void;
  /** One NDJSON event on stdout in --json mode (progress, server logs); nothing otherwise. */
  event(obj: Record<string, unknown>): void;
  /**
   * The final result: JSON on stdout with --json, else the human rendering on stdout. Printed with --quiet too:
   * --quiet means "only errors and the result", so it hides info lines and spinners, never the result.
   */
  result(obj: unknown, human: () => string): void;
  /** Data owns stdout (recv-file --stdout): from now on result() writes to stderr (JSON or human) instead. */
  resultsToStderr(): void;
  /** A spinner on a TTY (never in --json/--quiet); returns a no-op object otherwise. */
  spinner(text: string): Spinner;
  /** Color helpers; identity functions when colors are off. */
  readonly color: Colors;
}

export interface Spinner {
  text(t: string): void;
  succeed(t?: string): void;
  fail(t?: string): void;
  stop(): void;
}

export interface Colors {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
}

export interface CommandContext {
  flags: GlobalFlags;
  out: Output;
  /** Aborted on the first SIGINT/SIGTERM. Pass it to every library call that waits. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** Set by a command to choose its exit code for a result that is not an error (e.g. a failed check). */
  setExitCode(code: number): void;
  /** Declare that stdout carries data (recv-file --stdout): --json error objects then go to stderr, not into the data. */
  stdoutCarriesData(): void;
  /** Where a flag's value came from (typed on the command line, the environment, its default), by its key. */
  flagSource(key: string): FlagSource | undefined;
}

interface Streams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** NO_COLOR (https://no-color.org) wins over everything; FORCE_COLOR turns colors on off a TTY. */
export function colorsEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY;
}

export async function createOutput(flags: GlobalFlags, env: NodeJS.ProcessEnv, streams: Streams = process): Promise<Output> {
  const isTTY = Boolean(streams.stderr.isTTY);
  const useColor = colorsEnabled(env, isTTY) && !flags.json;
  let color: Colors;
  if (useColor) {
    const { Chalk } = await import('chalk');
    const c = new Chalk({ level: 1 });
    color = { green: c.green, red: c.red, yellow: c.yellow, dim: c.dim, bold: c.bold, cyan: c.cyan };
  } else {
    const id = (s: string): string => s;
    color = { green: id, red: id, yellow: id, dim: id, bold: id, cyan: id };
  }
  // A terminal that reports 0 columns (e.g. `script` with no size) makes ora redraw in a tight loop: no spinner there.
  const columns = streams.stderr.columns ?? 80;
  const interactive = isTTY && columns > 0 && !flags.json && !flags.quiet && env.CI !== 'true';
  const ora = interactive ? (await import('ora')).default : undefined;
  let active: Ora | undefined;
  let resultStream: NodeJS.WriteStream = streams.stdout;

  const writeErr = (line: string): void => {
    if (active?.isSpinning) {
      active.clear();
      streams.stderr.write(line + '\n');
      active.render();
    } else {
      streams.stderr.write(line + '\n');
    }
  };

  return {
    json: flags.json,
    quiet: flags.quiet,
    verbose: flags.verbose,
    interactive,
    color,
    info(message) {
      if (!flags.quiet && !flags.json) writeErr(message);
    },
    debug(message) {
      if (flags.verbose) writeErr(flags.json ? JSON.stringify({ event: 'debug', message }) : color.dim(message));
    },
    warn(message) {
      if (flags.json) streams.stderr.write(JSON.stringify({ event: 'warning', message }) + '\n');
      else writeErr(color.yellow(`warning: ${message}`));
    },
    event(obj) {
      if (flags.json) streams.stdout.write(JSON.stringify(obj) + '\n');
    },
    result(obj, human) {
      if (flags.json) {
        resultStream.write(JSON.stringify(obj, null, 0) + '\n');
        return;
      }
      const text = human();
      if (!text) return;
      const line = text.endsWith('\n') ? text.slice(0, -1) : text;
      if (resultStream === streams.stderr) writeErr(line);
      else streams.stdout.write(line + '\n');
    },
    resultsToStderr() {
      resultStream = streams.stderr;
    },
    spinner(text) {
      if (!ora) {
        return { text: () => {}, succeed: () => {}, fail: () => {}, stop: () => {} };
      }
      const s = ora({ text, stream: streams.stderr }).start();
      active = s;
      return {
        text: (t) => {
          s.text = t;
        },
        succeed: (t) => {
          s.succeed(t);
          active = undefined;
        },
        fail: (t) => {
          s.fail(t);
          active = undefined;
        },
        stop: () => {
          s.stop();
          active = undefined;
        },
      };
    },
  };
}
