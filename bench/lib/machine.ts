/**
 * The header every RESULTS.md section starts with: when, on what machine, with which versions, at which commit, and
 * the exact command that produced it (so a figure can always be traced to a run).
 *
 *   const info = machineInfo({ packages: ['werift'], tools: { coturn: ['turnserver', '--version'] } });
 *   lines.push(machineHeader(info), '', `Command: \`${commandLine()}\``);
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/../..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface MachineInfo {
  /** "2026-11-24 18:05 UTC" */
  date: string;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  /** npm packages and tools → version. */
  versions: Record<string, string>;
  /** Short commit hash, with "+ uncommitted changes" when the work tree differs from it. */
  commit: string;
}

/** Version of an installed npm package (node_modules/<name>/package.json), or "not installed". */
export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** First non-empty line a tool prints for its version flag (stdout or stderr), or "unknown". */
export function toolVersion(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n').find((l) => l.trim())?.trim() ?? 'unknown';
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
    return out.split('\n').find((l) => l.trim())?.trim() ?? 'unknown';
  }
}

function gitCommit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${hash} + uncommitted changes` : hash;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function machineInfo(o: { packages?: string[]; tools?: Record<string, string[]> } = {}): MachineInfo {
  const versions: Record<string, string> = {};
  for (const p of o.packages ?? []) versions[p] = packageVersion(p);
  for (const [name, [cmd, ...args]] of Object.entries(o.tools ?? {})) versions[name] = toolVersion(cmd!, args);
  return {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    versions,
    commit: gitCommit(),
  };
}

/** "2026-11-24 18:05 UTC · 2 cores (`nproc`), AMD EPYC …, 23.5 GiB · Node v20.20.2, werift 0.25.2 · commit abc1234" */
export function machineHeader(i: MachineInfo): string {
  const versions = Object.entries(i.versions).map(([k, v]) => `${k} ${v}`);
  return [`${i.date}`, `${i.cpus} cores (\`nproc\`), ${i.cpuModel}, ${i.memGiB.toFixed(1)} GiB`, [`Node ${i.node}`, ...versions].join(', '), `commit ${i.commit}`].join(' · ');
}

/** How this benchmark was started, as a command to paste: `npx tsx bench/x/run.ts --flag 1` (env given explicitly). */
export function commandLine(envNames: string[] = []): string {
  const script = relative(ROOT, process.argv[1] ?? '');
  const env = envNames.filter((n) => process.env[n] !== undefined).map((n) => `${n}=${process.env[n]}`);
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [...env, 'npx', 'tsx', script, ...process.argv.slice(2).map(quote)].join(' ');
}
