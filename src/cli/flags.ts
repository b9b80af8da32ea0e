/**
 * Flags are data. Each command declares one typed table of its flags (like vitest's `cliOptionsConfig`): spelling,
 * help text, env var, default, choices, parser, --help group, old spellings. The same table builds the commander
 * options (buildProgram in src/cli.ts) and the README flag tables (src/cli/flag-docs.ts, `npm run docs`), and
 * test/cli/flag-docs.test.ts fails when the README and the tables drift apart.
 *
 * The table is checked against the command's option interface: `FlagTable<O>` wants one declaration per key of `O`,
 * a parser that returns the key's type for anything but text and switches, and `choices` for a union of literals.
 * The key must be the name commander stores the value under (`--max-loss` → `maxLoss`, `--no-ice` → `ice`); the
 * program builder throws at start-up when it is not, and the program test builds every command.
 */
import { Option, type Command } from 'commander';
import type { CommandContext } from './context.js';

/** Turns the text after a flag into its value; `previous` is the value so far (repeatable flags collect). */
export type FlagParser<T> = (value: string, previous: T | undefined) => NonNullable<T>;

interface FlagCommon<T> {
  /** As commander spells it: `--port <n>`, `-q, --quiet`, `--lifetime [max-seconds]`, `--no-ice`. */
  flags: string;
  /** One line for --help (plain text). */
  help: string;
  /** The README's "meaning" (Markdown) when it says more than `help`; default: `help`. */
  doc?: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
  default?: T;
  /** How the default reads in --help and the README when the stored value does not say it (milliseconds, "auto"). */
  defaultText?: string;
  /** The --help heading it is listed under (commander's helpGroup); default "Options:". */
  group?: string;
  /** Keys of flags it cannot be combined with. */
  conflicts?: readonly string[];
  /**
   * Old spellings that still work: flags (hidden from --help) and env vars. Using one prints one deprecation line.
   * An old env var wins over the new one (it was this command's own variable; README "Renamed flags").
   */
  renamed?: { flags?: readonly string[]; env?: readonly string[] };
}

/** What the value's type asks of the declaration: switches take no argument, numbers and lists need a parser. */
type ValueRules<T> =
  NonNullable<T> extends boolean
    ? { parse?: never; choices?: never }
    : NonNullable<T> extends string
      ? string extends NonNullable<T>
        ? { parse?: FlagParser<T>; choices?: readonly string[] }
        : { parse?: never; choices: readonly NonNullable<T>[] }
      : { parse: FlagParser<T>; choices?: never };

export type Flag<T> = FlagCommon<T> & ValueRules<T>;

/** One declaration per option key of a command. */
export type FlagTable<O> = { readonly [K in keyof O]-?: Flag<O[K]> };

/** A declaration with its value type erased (what the builder and the doc generator read). */
export type AnyFlag = FlagCommon<unknown> & { parse?: FlagParser<unknown>; choices?: readonly string[] };
export type AnyFlagTable = Readonly<Record<string, AnyFlag>>;

/** A positional argument: `<file...>`, `[code]`. */
export interface ArgSpec {
  name: string;
  help: string;
}

/** The handler of a command: gets the output context, its parsed flags (and the global ones) and its arguments. */
export type Handler<O> = (ctx: CommandContext, opts: O, args: string[]) => Promise<void>;

/** The --help headings of `rtc-cli --help`, in order: commands are listed by task. */
export const COMMAND_GROUPS = {
  serve: 'Run and load-test a signaling server:',
  peers: 'Move files and media between peers:',
  diagnose: 'Diagnose the network and WebRTC sessions:',
} as const;
export type CommandGroup = keyof typeof COMMAND_GROUPS;

interface CommandCommon {
  /** The command's name as typed (`turn-check`); a subcommand's own name (`inspect`). */
  name: string;
  /** One line for `rtc-cli --help` and the command's own --help. */
  summary: string;
  /** Where `rtc-cli --help` lists it (top-level commands only). */
  group?: CommandGroup;
}

export interface CommandSpec<O extends object> extends CommandCommon {
  args?: readonly ArgSpec[];
  flags: FlagTable<O>;
  /** Text after the option list in --help: details, examples, exit codes. */
  helpAfter?: string;
  run: Handler<O>;
}

/** A command as the registry holds it (type-checked by defineCommand, erased here so commands can share a list). */
export interface CommandDef extends CommandCommon {
  kind: 'command';
  args: readonly ArgSpec[];
  flags: AnyFlagTable;
  helpAfter?: string;
  run: Handler<Record<string, unknown>>;
}

/** A command that only groups subcommands (`sdp inspect`). */
export interface ParentDef extends CommandCommon {
  kind: 'parent';
  subcommands: readonly CommandDef[];
}

export type Registered = CommandDef | ParentDef;

export function defineCommand<O extends object>(spec: CommandSpec<O>): CommandDef {
  return { kind: 'command', args: [], ...spec } as unknown as CommandDef;
}

export function defineParent(spec: CommandCommon & { subcommands: readonly CommandDef[] }): ParentDef {
  return { kind: 'parent', ...spec };
}

/** The long spelling of a flag string: `-q, --quiet` → `--quiet`, `--port <n>` → `--port`. */
export function longName(flags: string): string {
  const long = /--[a-z0-9-]+/i.exec(flags);
  if (!long) throw new Error(`flag "${flags}" has no --long spelling`);
  return long[0];
}

/** Where commander stores a flag's value (`--max-loss` → `maxLoss`, `--no-ice` → `ice`). */
export function attributeOf(flags: string): string {
  return new Option(flags).attributeName();
}

/** The commander option for one declaration; throws when `key` is not where commander will store the value. */
export function toOption(key: string, f: AnyFlag): Option {
  const help = f.default === undefined && f.defaultText !== undefined ? `${f.help} (default: ${f.defaultText})` : f.help;
  const o = new Option(f.flags, help);
  if (o.attributeName() !== key) {
    throw new Error(`flag table key "${key}" does not match ${f.flags}: commander stores its value as "${o.attributeName()}"`);
  }
  if (f.env) o.env(f.env);
  if (f.choices) o.choices(f.choices);
  if (f.parse) o.argParser(f.parse);
  if (f.default !== undefined) o.default(f.default, f.defaultText);
  if (f.conflicts) o.conflicts([...f.conflicts]);
  if (f.group) o.helpGroup(f.group);
  return o;
}

/** The hidden options that accept a flag's old spellings (their values are moved to `key` by applyRenamed). */
export function renamedOptions(key: string, f: AnyFlag): Option[] {
  return (f.renamed?.flags ?? []).map((old) => {
    const o = new Option(old, `renamed: use ${longName(f.flags)}`).hideHelp();
    if (o.attributeName() === key) throw new Error(`old spelling ${old} of ${f.flags} stores its value under the same key`);
    if (f.choices) o.choices(f.choices);
    if (f.parse) o.argParser(f.parse);
    // Hidden, but commander orders help groups by every option's group: keep the flag's, so no empty heading moves.
    if (f.group) o.helpGroup(f.group);
    return o;
  });
}

/** Declare every flag of `table` (and its hidden old spellings) on `cmd`. */
export function addFlags(cmd: Command, table: AnyFlagTable): Command {
  for (const [key, f] of Object.entries(table)) {
    cmd.addOption(toOption(key, f));
    for (const o of renamedOptions(key, f)) cmd.addOption(o);
  }
  return cmd;
}
