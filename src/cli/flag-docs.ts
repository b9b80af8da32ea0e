/**
 * The README's flag tables, generated from the flag declarations (src/cli/flags.ts) the program is built from.
 * `npm run docs` writes them between `<!-- flags:<id>:begin -->` and `<!-- flags:<id>:end -->`;
 * test/cli/flag-docs.test.ts fails when the README differs from what this module generates.
 *
 * Blocks: `global`, `peer` and `ice` (flags several commands share, documented once with the commands that take
 * them), `renamed` (old spellings that still work), and one per command (`serve`, `sdp-inspect`, ...) with its own
 * flags and a line naming the shared sets it takes.
 */
import { longName, type AnyFlag, type AnyFlagTable, type CommandDef, type Registered } from './flags.js';
import { GLOBAL_FLAGS, ICE_FLAGS } from './options.js';
import { PEER_ONLY_FLAGS } from './peer.js';

/** A set of shared flags: documented in one README table (anchor = its heading) instead of in each command's. */
interface SharedSet {
  id: 'peer' | 'ice';
  title: string;
  anchor: string;
  flags: AnyFlagTable;
}

export const SHARED_SETS: readonly SharedSet[] = [
  { id: 'peer', title: 'peer flags', anchor: '#peer-flags', flags: PEER_ONLY_FLAGS as AnyFlagTable },
  { id: 'ice', title: 'ICE flags', anchor: '#ice-flags', flags: ICE_FLAGS as AnyFlagTable },
];

/** A command with its full name as typed after `rtc-cli` (`sdp inspect`). */
export interface NamedCommand {
  path: string;
  def: CommandDef;
}

export function flattenCommands(registered: readonly Registered[]): NamedCommand[] {
  return registered.flatMap((r) => (r.kind === 'command' ? [{ path: r.name, def: r }] : r.subcommands.map((def) => ({ path: `${r.name} ${def.name}`, def }))));
}

/** The README block id of a command: `sdp inspect` → `sdp-inspect`. */
export function blockId(path: string): string {
  return path.replace(/ /g, '-');
}

/** Everything but the default: a command may take a shared flag with its own default (manual-role) and still share it. */
function sameMeaning(a: AnyFlag, b: AnyFlag): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('default');
  keys.delete('defaultText');
  return [...keys].every((k) => a[k as keyof AnyFlag] === b[k as keyof AnyFlag]);
}

/** The shared set a command's flag belongs to (same key, same meaning), or undefined when it is the command's own. */
function sharedSetOf(key: string, f: AnyFlag): SharedSet | undefined {
  return SHARED_SETS.find((s) => s.flags[key] !== undefined && sameMeaning(s.flags[key], f));
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s}\``;

/** Plain help text as Markdown: flag names in code spans (text that has code spans already is left alone). */
function markdown(text: string): string {
  if (text.includes('`')) return text;
  return text.replace(/</g, '&lt;').replace(/(^|[\s(])(--[a-z][a-z0-9-]*)/g, (_m, pre: string, flag: string) => `${pre}${code(flag)}`);
}

/** A switch that is not a `--no-` flag is off unless given. */
const isSwitch = (f: AnyFlag): boolean => !/[<[]/.test(f.flags) && !longName(f.flags).startsWith('--no-');

function defaultOf(f: AnyFlag): string {
  if (f.defaultText !== undefined) return markdown(f.defaultText);
  if (f.default === undefined) return isSwitch(f) ? 'off' : '';
  return Array.isArray(f.default) ? f.default.join(', ') : String(f.default);
}

function meaningOf(f: AnyFlag): string {
  let text = f.doc ?? markdown(f.help);
  if (f.choices) text += ` (one of ${f.choices.map(code).join(', ')})`;
  const old = [...(f.renamed?.flags ?? []).map(longName), ...(f.renamed?.env ?? [])];
  if (old.length) text += `; formerly ${old.map(code).join(', ')}, which still ${old.length === 1 ? 'works' : 'work'}`;
  return text;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
  return lines.join('\n');
}

function flagRow(f: AnyFlag): string[] {
  return [code(f.flags), f.env ? code(f.env) : '', defaultOf(f), meaningOf(f)];
}

export function globalBlock(): string {
  return table(['flag', 'env', 'default', 'meaning'], Object.values(GLOBAL_FLAGS as AnyFlagTable).map(flagRow));
}

/** A shared set's table: each flag once, with the commands that take it and their defaults. */
export function sharedBlock(set: SharedSet, commands: readonly NamedCommand[]): string {
  const rows = Object.entries(set.flags).map(([key, canonical]) => {
    const users = commands.filter((c) => c.def.flags[key] !== undefined && sharedSetOf(key, c.def.flags[key]) === set);
    const byDefault = new Map<string, string[]>();
    for (const u of users) {
      const d = defaultOf(u.def.flags[key]);
      byDefault.set(d, [...(byDefault.get(d) ?? []), u.path]);
    }
    const defaults = byDefault.size <= 1 ? [...byDefault.keys()].join('') : [...byDefault].map(([d, who]) => `${d} (${who.join(', ')})`).join('; ');
    return [code(canonical.flags), canonical.env ? code(canonical.env) : '', defaults, users.map((u) => u.path).join(', '), meaningOf(canonical)];
  });
  return table(['flag', 'env', 'default', 'commands', 'meaning'], rows);
}

/** Every old spelling that still works, with its new name and the commands that accept it. */
export function renamedBlock(commands: readonly NamedCommand[]): string {
  const rows = new Map<string, { now: string; who: string[] }>();
  for (const c of commands) {
    for (const f of Object.values(c.def.flags)) {
      const pairs: Array<[string, string]> = [
        ...(f.renamed?.flags ?? []).map((o): [string, string] => [longName(o), longName(f.flags)]),
        ...(f.renamed?.env ?? []).map((e): [string, string] => [e, f.env ?? longName(f.flags)]),
      ];
      for (const [old, now] of pairs) {
        const row = rows.get(old) ?? { now, who: [] };
        row.who.push(c.path);
        rows.set(old, row);
      }
    }
  }
  return table(['old name', 'new name', 'commands'], [...rows].map(([old, r]) => [code(old), code(r.now), r.who.join(', ')]));
}

/** A command's own flags, then a line naming the shared sets it takes. */
export function commandBlock(c: NamedCommand): string {
  const own = Object.entries(c.def.flags).filter(([key, f]) => !sharedSetOf(key, f));
  const parts: string[] = [];
  for (const set of SHARED_SETS) {
    const keys = Object.keys(set.flags).filter((k) => c.def.flags[k] !== undefined && sharedSetOf(k, c.def.flags[k]) === set);
    if (!keys.length) continue;
    const all = keys.length === Object.keys(set.flags).length;
    parts.push(`the [${set.title}](${set.anchor})${all ? '' : ` ${keys.map((k) => code(longName(set.flags[k]!.flags))).join(', ')}`}`);
  }
  parts.push('the [global flags](#global-flags)');
  const also = `${own.length ? 'Also' : `\`${c.path}\` has no flags of its own; it takes`} ${parts.join(', ').replace(/, ([^,]*)$/, ' and $1')}.`;
  return own.length ? `${table(['flag', 'env', 'default', 'meaning'], own.map(([, f]) => flagRow(f)))}\n\n${also}` : also;
}

/** Every generated block by id. */
export function flagBlocks(registered: readonly Registered[]): Map<string, string> {
  const commands = flattenCommands(registered);
  const blocks = new Map<string, string>([
    ['global', globalBlock()],
    ...SHARED_SETS.map((s): [string, string] => [s.id, sharedBlock(s, commands)]),
    ['renamed', renamedBlock(commands)],
  ]);
  for (const c of commands) blocks.set(blockId(c.path), commandBlock(c));
  return blocks;
}

const MARKER = /<!-- flags:([a-z0-9-]+):begin -->\n[\s\S]*?<!-- flags:\1:end -->/g;

/** The block ids the README has markers for, in order. */
export function markedBlocks(readme: string): string[] {
  return [...readme.matchAll(MARKER)].map((m) => m[1]!);
}

/** `readme` with every marked block replaced by its generated text (blocks with no marker are not added). */
export function replaceBlocks(readme: string, blocks: ReadonlyMap<string, string>): string {
  return readme.replace(MARKER, (whole, id: string) => {
    const text = blocks.get(id);
    return text === undefined ? whole : `<!-- flags:${id}:begin -->\n${text}\n<!-- flags:${id}:end -->`;
  });
}
