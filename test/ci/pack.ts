/**
 * Build and install rtc-cli the way a user gets it: `npm pack` in a fresh copy of the checkout (what a clone holds:
 * tracked and untracked-but-not-ignored files, no dist/), then `npm install --global --prefix <empty dir>` of that
 * tarball with --omit=dev and install scripts on (postinstall runs as in a user's install). The copy shares this
 * checkout's node_modules only so that its `prepare` (tsc) can run; the installed package gets its dependencies from
 * the npm registry (or npm's cache: --prefer-offline).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';

export interface PackResult {
  tarball: string;
  /** Packed size (gzip) and the paths in the tarball, relative to the package root. */
  size: number;
  files: Array<{ path: string; size: number }>;
}

export interface Installed {
  prefix: string;
  /** <prefix>/bin/rtc-cli: the command a user's shell runs. */
  bin: string;
  /** <prefix>/lib/node_modules/rtc-cli */
  root: string;
  /** npm's output (install scripts run in the foreground, so their output is in here). */
  log: string;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * The files of a fresh clone: `git ls-files` (tracked + untracked-but-not-ignored). Where git or the .git directory
 * is missing (a CI that unpacks a tarball), every file except .git/ and what .gitignore lists (its `dir/`, `*.ext` and
 * plain-name lines, the only forms it uses).
 */
function checkoutFiles(repo: string): string[] {
  const ls = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' });
  if (ls.status === 0) return ls.stdout.split('\0').filter(Boolean);
  const ignore = readFileSync(join(repo, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const ignored = (rel: string, isDir: boolean): boolean =>
    rel === '.git' ||
    ignore.some((p) => (p.endsWith('/') ? isDir && rel === p.slice(0, -1) : p.startsWith('*.') ? rel.endsWith(p.slice(1)) : rel === p || rel.endsWith(`/${p}`)));
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(repo, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const isDir = statSync(join(repo, r)).isDirectory();
      if (ignored(r, isDir)) continue;
      if (isDir) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}

/** npm with install scripts forced on (a user's ~/.npmrc or CI env with ignore-scripts would hide a broken postinstall). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_ignore_scripts: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  // Variables npm sets for scripts when the test itself runs under `npm test` would leak into the nested npm.
  for (const k of Object.keys(env)) if (/^npm_(package|lifecycle)_/.test(k)) delete env[k];
  return env;
}

/**
 * Copy what a fresh clone would contain (git's tracked + untracked-but-not-ignored files), without dist/.
 * `linkNodeModules` symlinks this checkout's node_modules into the copy (enough for `prepare`); never combine it with
 * `npm ci` in the copy, which would empty the linked directory.
 */
export function copyCheckout(repo: string, dest: string, opts: { linkNodeModules: boolean }): void {
  for (const rel of checkoutFiles(repo)) {
    const from = join(repo, rel);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    cpSync(from, join(dest, rel), { dereference: false });
  }
  // Only for `prepare` (tsc) in the copy; the installed package resolves its own dependencies.
  if (opts.linkNodeModules) symlinkSync(join(repo, 'node_modules'), join(dest, 'node_modules'));
}

export async function npmPack(dir: string, dest: string): Promise<PackResult> {
  const r = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, env: npmEnv(), timeoutMs: 180_000 });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`npm pack ${r.timedOut ? 'timed out after 180 s' : `failed (exit ${r.code})`} in a fresh copy of the checkout:\n${r.stderr.slice(-4000)}`);
  }
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename: string; size: number; files: Array<{ path: string; size: number }> }>;
  const p = json[0]!;
  return { tarball: join(dest, p.filename), size: p.size, files: p.files };
}

export async function installGlobal(tarball: string, prefix: string, timeoutMs = 240_000): Promise<Installed> {
  const args = ['install', '--global', '--prefix', prefix, tarball, '--omit=dev', '--prefer-offline', '--foreground-scripts', '--no-audit', '--no-fund'];
  const r = await run('npm', args, { cwd: dirname(tarball), env: npmEnv(), timeoutMs });
  const log = r.stdout + r.stderr;
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `\`npm ${args.join(' ')}\` ${r.timedOut ? `did not finish within ${timeoutMs / 1000} s` : `failed (exit ${r.code})`}. ` +
        'This test installs the packed tarball with its runtime dependencies from the npm registry (or a warm npm cache): ' +
        'check that the registry is reachable (npm ping) and read npm\'s output:\n' +
        log.slice(-5000),
    );
  }
  const root = join(prefix, 'lib', 'node_modules', 'rtc-cli');
  return { prefix, bin: join(prefix, 'bin', 'rtc-cli'), root, log };
}

/**
 * The lines a patch-package patch adds, per file (paths relative to the directory that holds node_modules/). Enough
 * to check that the patch was applied to an installed tree; not a general diff parser.
 */
export function addedLinesByFile(patch: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of patch.split('\n')) {
    const file = /^\+\+\+ b\/(.+)$/.exec(line);
    if (file) {
      current = [];
      out.set(file[1]!, current);
    } else if (line.startsWith('+') && current && line.slice(1).trim()) {
      current.push(line.slice(1).trim());
    }
  }
  return out;
}

/** Bare module specifiers (`werift`, `@scope/pkg/sub`) imported by the JS files under `dir`, as package names. */
export function importedPackages(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.js')) {
        const src = readFileSync(p, 'utf8');
        for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) {
          const spec = m[1]!;
          if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)) continue;
          names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
    }
  };
  walk(dir);
  return names;
}

/** Every package name any installed package.json under `nodeModules` depends on (deps, optional, peer). */
export function dependedOn(nodeModules: string): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(dir, name))) visitPkg(join(dir, name, sub));
      } else visitPkg(join(dir, name));
    }
  };
  const visitPkg = (pkgDir: string): void => {
    const file = join(pkgDir, 'package.json');
    if (!existsSync(file)) return;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) for (const n of Object.keys(pkg[field] ?? {})) names.add(n);
    visit(join(pkgDir, 'node_modules'));
  };
  visit(nodeModules);
  return names;
}
