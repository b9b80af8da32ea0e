/**
 * rtc-cli's program: the global flags and every command of src/commands/index.ts, built from their flag tables
 * (src/cli/flags.ts). Importing this module does nothing; bin/rtc-cli.js calls main(). Command modules are cheap to
 * import: they load werift and other heavy code lazily inside their handlers, so `rtc-cli --help` stays instant.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { action, handleCommanderError, processIO, type CliIO } from './cli/run.js';
import { GLOBAL_FLAGS } from './cli/options.js';
import { addFlags, COMMAND_GROUPS, longName, type CommandDef, type Handler, type Registered } from './cli/flags.js';
import { flattenCommands } from './cli/flag-docs.js';
import * as registry from './commands/index.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

const GROUP_ORDER = Object.keys(COMMAND_GROUPS);

/** Every registered command, in the order `rtc-cli --help` lists them: by task group, then by name. */
export function registeredCommands(): Registered[] {
  const all: Registered[] = Object.values(registry);
  const rank = (r: Registered): number => GROUP_ORDER.indexOf(r.group ?? '');
  return all.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export interface ProgramOptions {
  io?: CliIO;
  /**
   * Run this instead of each command's own handler (after flags are parsed, renamed spellings moved and the output
   * set up): a test builds the program in-process and sees what a command would get, without its side effects.
   */
  dispatch?: (def: CommandDef, ...args: Parameters<Handler<Record<string, unknown>>>) => Promise<void>;
}

function addCommand(parent: Command, def: CommandDef, o: ProgramOptions, io: CliIO): Command {
  const cmd = parent.command(def.name).description(def.summary);
  for (const a of def.args) cmd.argument(a.name, a.help);
  addFlags(cmd, def.flags);
  if (def.helpAfter) cmd.addHelpText('after', def.helpAfter);
  const handler: Handler<Record<string, unknown>> = o.dispatch ? (...args) => o.dispatch!(def, ...args) : def.run;
  return cmd.action(action(handler, def.flags, io)).exitOverride();
}

/** The whole program. No side effects: nothing is parsed, printed or started until parseAsync. */
export function buildProgram(o: ProgramOptions = {}): Command {
  const io = o.io ?? processIO();
  const program = new Command('rtc-cli')
    .description('Headless WebRTC peers and network diagnostics: signaling, NAT probing, TURN checks, file transfer, recording.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  addFlags(program, GLOBAL_FLAGS);
  program.addHelpText(
    'after',
    `
Exit codes: 0 success, 1 the check or transfer failed, 2 usage or input error, 130 interrupted.
Docs: README.md (every flag and RTC_ERR_* code), docs/signaling-protocol.md.`,
  );
  for (const r of registeredCommands()) {
    const heading = r.group ? COMMAND_GROUPS[r.group] : undefined;
    const cmd = r.kind === 'command' ? addCommand(program, r, o, io) : program.command(r.name).description(r.summary).exitOverride();
    if (r.kind === 'parent') for (const sub of r.subcommands) addCommand(cmd, sub, o, io);
    if (heading) cmd.helpGroup(heading);
  }
  return program;
}

/**
 * `rtc-cli ... | head` closes stdout early: that is the reader's choice, not an error. Exit quietly like other Unix
 * tools instead of dying with an unhandled EPIPE stack trace.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

/**
 * For `unknown option '--room'`: which commands do take it (a peer-only flag given to a diagnostic, or `--signal`
 * before the command name, where it was accepted when it was global).
 */
export function unknownOptionHint(e: unknown): string | undefined {
  if (!(e instanceof CommanderError) || e.code !== 'commander.unknownOption') return undefined;
  const flag = /'(--[a-z0-9-]+)/i.exec(e.message)?.[1];
  if (!flag) return undefined;
  const takers = flattenCommands(registeredCommands())
    .filter((c) => Object.values(c.def.flags).some((f) => longName(f.flags) === flag))
    .map((c) => c.path);
  if (!takers.length) return undefined;
  return `${flag} is a flag of ${takers.join(', ')}: give it after one of those command names (rtc-cli ${takers[0]} ${flag} ...)`;
}

/** What bin/rtc-cli.js runs. */
export async function main(argv: string[] = process.argv): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = handleCommanderError(e, json, processIO(), unknownOptionHint(e));
  }
}
