/**
 * Old spellings of renamed flags and env vars keep working (README "Renamed flags"): after commander has parsed, the
 * value of an old spelling moves to the flag's key, and the command prints one line naming every old spelling used.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { RtcError } from '../errors.js';
import { attributeOf, longName, type AnyFlag, type AnyFlagTable } from './flags.js';

export interface RenamedUse {
  old: string;
  now: string;
  /** The new env var was set too and is ignored while the old one is. */
  shadowed?: boolean;
}

function usage(message: string, hint: string): RtcError {
  return new RtcError('RTC_ERR_USAGE', message, { hint });
}

function fromEnv(name: string, raw: string, f: AnyFlag): unknown {
  if (f.choices && !f.choices.includes(raw)) {
    throw usage(`${name} must be one of ${f.choices.join(', ')} (got "${raw}")`, `fix ${name} in the environment`);
  }
  try {
    return f.parse ? f.parse(raw, undefined) : raw;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw usage(`${name}: ${e.message}`, `fix ${name} in the environment`);
    throw e;
  }
}

function moveOldFlags(cmd: Command, key: string, f: AnyFlag, used: RenamedUse[]): void {
  for (const old of f.renamed?.flags ?? []) {
    const oldKey = attributeOf(old);
    if (cmd.getOptionValueSource(oldKey) !== 'cli') continue;
    const [was, now] = [longName(old), longName(f.flags)];
    if (cmd.getOptionValueSource(key) === 'cli') throw usage(`${was} and ${now} are the same flag, given twice`, `give ${now} only (${was} is its old name)`);
    cmd.setOptionValueWithSource(key, cmd.getOptionValue(oldKey), 'cli');
    used.push({ old: was, now });
  }
}

/** An old env var counts when the flag was not given; like commander, a variable set to "" is set. */
function readOldEnv(cmd: Command, key: string, f: AnyFlag, env: NodeJS.ProcessEnv, used: RenamedUse[]): void {
  for (const name of f.renamed?.env ?? []) {
    const raw = env[name];
    if (raw === undefined || cmd.getOptionValueSource(key) === 'cli') continue;
    cmd.setOptionValueWithSource(key, fromEnv(name, raw, f), 'env');
    used.push({ old: name, now: f.env ?? longName(f.flags), shadowed: f.env !== undefined && env[f.env] !== undefined });
    return;
  }
}

/** Move the values of old spellings to their flags; returns what was used, for renamedWarning. */
export function applyRenamed(cmd: Command, table: AnyFlagTable, env: NodeJS.ProcessEnv): RenamedUse[] {
  const used: RenamedUse[] = [];
  for (const [key, f] of Object.entries(table)) {
    moveOldFlags(cmd, key, f, used);
    readOldEnv(cmd, key, f, env, used);
  }
  return used;
}

/** The one deprecation line for everything old that one run used. */
export function renamedWarning(used: readonly RenamedUse[]): string {
  const parts = used.map((u) => `${u.old} is now ${u.now}${u.shadowed ? ` (${u.now} is ignored while ${u.old} is set)` : ''}`);
  return `renamed: ${parts.join(', ')}; the old ${used.length === 1 ? 'name still works' : 'names still work'} for now (README: Renamed flags)`;
}
