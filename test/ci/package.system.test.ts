/**
 * The package works when installed, not only in this checkout: `npm pack` a fresh copy, install the tarball into an
 * empty prefix with no dev dependencies (install scripts on, as for a user), and run every command from the installed
 * `rtc-cli`, in a directory outside the checkout. Nothing the package needs may live outside `files`.
 *
 * It also checks what arrives later keeps working: a postinstall script must have run, every patch in patches/ must be
 * shipped and applied to the installed dependency, and every optional dependency must be installed on this platform.
 *
 * Needs the npm registry (or a warm npm cache) for the runtime dependencies; the failure message says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, runCli, spawnCli, type CliOptions } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { addedLinesByFile, copyCheckout, dependedOn, importedPackages, installGlobal, npmPack, type Installed, type PackResult } from './pack.js';
import { startServe, transferPair, type RunningServe } from './helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const pkgJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
/** Packed (gzip) size budget: ~0.43 MB at the end of 2026 (built code ~0.25 MB, the test fixture video 0.13 MB, docs);
 *  the budget catches a stray directory or bundled dependency (megabytes), not a new module. */
const MAX_PACKED_BYTES = 600_000;
const COMMANDS = ['serve', 'record', 'publish', 'send-file', 'recv-file', 'nat-probe', 'turn-check', 'ice-gather', 'sdp'];

let work: string;
let packed: PackResult;
let inst: Installed;
let run: CliOptions;
let serve: RunningServe | undefined;
let turn: Coturn | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rtc-pkg-'));
  const copy = join(work, 'checkout');
  copyCheckout(REPO, copy, { linkNodeModules: true });
  packed = await npmPack(copy, work);
  inst = await installGlobal(packed.tarball, join(work, 'prefix'));
  const cwd = join(work, 'elsewhere');
  const home = join(work, 'home');
  mkdirSync(cwd);
  mkdirSync(home);
  // The installed command, run from its own directory like a user's shell would: the same Node first on PATH for its
  // `#!/usr/bin/env node`, a fresh HOME, nothing from this checkout reachable.
  const env: NodeJS.ProcessEnv = { HOME: home, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  run = { bin: inst.bin, cwd, env };
}, 600_000);

afterAll(async () => {
  await serve?.stop();
  await turn?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack: what the tarball holds', () => {
  it('ships the entry point, the built code, the page, the docs and the testsrc/SDP examples', () => {
    const paths = new Set(packed.files.map((f) => f.path));
    for (const target of Object.values(pkgJson.bin)) expect(paths, `bin ${target}`).toContain(target.replace(/^\.\//, ''));
    for (const p of ['dist/cli.js', 'dist/diagnostics/turn-ice-worker.js', 'src/web/index.html', 'fixtures/media/testsrc-640x480-30fps.ivf', 'fixtures/sdp/werift-offer.sdp', 'README.md', 'package.json']) {
      expect(paths, p).toContain(p);
    }
    // Later additions: the patches a postinstall applies must ship with it.
    const patchDir = join(REPO, 'patches');
    if (existsSync(patchDir)) for (const f of readdirSync(patchDir)) expect(paths, `patches/${f}`).toContain(`patches/${f}`);
  });

  it('ships no tests, benchmarks, sources, source maps or CI files, and stays small', () => {
    const unwanted = packed.files.filter((f) => /^(test|bench|scripts|\.ci|\.github|node_modules)\/|\.map$|(?<!\.d)\.ts$|^fixtures\/sdp\/generate/.test(f.path));
    expect(unwanted.map((f) => f.path)).toEqual([]);
    const largest = [...packed.files].sort((a, b) => b.size - a.size).slice(0, 5).map((f) => `${f.path} ${f.size}`);
    expect(packed.size, `packed ${packed.size} bytes; largest files: ${largest.join(', ')}`).toBeLessThanOrEqual(MAX_PACKED_BYTES);
  });
});

describe('npm install --global of the tarball (no dev dependencies, install scripts on)', () => {
  it('installed the runtime dependencies only, every one the built code imports', () => {
    const nm = join(inst.root, 'node_modules');
    const declared = new Set([...Object.keys(pkgJson.dependencies ?? {}), ...Object.keys(pkgJson.optionalDependencies ?? {})]);
    // Imported somewhere in dist/ but not declared: works in the checkout (devDependency), breaks when installed.
    const imported = importedPackages(join(inst.root, 'dist'));
    expect([...imported]).toEqual(expect.arrayContaining(['commander', 'werift', 'ws']));
    expect([...imported].filter((n) => !declared.has(n))).toEqual([]);
    // A devDependency in the installed tree is fine only when a runtime dependency needs it too.
    const needed = dependedOn(nm);
    const devLeaked = Object.keys(pkgJson.devDependencies ?? {}).filter((n) => existsSync(join(nm, n)) && !needed.has(n) && !declared.has(n));
    expect(devLeaked).toEqual([]);
    for (const n of Object.keys(pkgJson.dependencies ?? {})) expect(existsSync(join(nm, n, 'package.json')), `dependency ${n}`).toBe(true);
  });

  it('ran the install scripts, applied every patch and installed every optional dependency', () => {
    for (const hook of ['preinstall', 'install', 'postinstall']) {
      if (pkgJson.scripts?.[hook]) expect(inst.log, `npm output:\n${inst.log}`).toContain(`rtc-cli@${pkgJson.version} ${hook}`);
    }
    const patchDir = join(REPO, 'patches');
    const patches = existsSync(patchDir) ? readdirSync(patchDir).filter((f) => f.endsWith('.patch')) : [];
    for (const p of patches) {
      for (const [file, lines] of addedLinesByFile(readFileSync(join(patchDir, p), 'utf8'))) {
        const installed = join(inst.root, file);
        expect(existsSync(installed), `${p}: ${file} is not in the installed package`).toBe(true);
        const text = readFileSync(installed, 'utf8');
        for (const l of lines) expect(text.includes(l), `${p} was not applied to the installed ${file}: missing "${l}"`).toBe(true);
      }
    }
    for (const n of Object.keys(pkgJson.optionalDependencies ?? {})) {
      expect(existsSync(join(inst.root, 'node_modules', n, 'package.json')), `optional dependency ${n} did not install on this platform:\n${inst.log.slice(-3000)}`).toBe(true);
    }
  });
});

describe('the patch check itself', () => {
  it('reads the added lines of a patch-package patch per file', () => {
    const patch = [
      'diff --git a/node_modules/werift/lib/x.js b/node_modules/werift/lib/x.js',
      'index 1..2 100644',
      '--- a/node_modules/werift/lib/x.js',
      '+++ b/node_modules/werift/lib/x.js',
      '@@ -1,2 +1,2 @@',
      ' keep();',
      '-old();',
      '+  fixed(); ',
      '+',
    ].join('\n');
    expect([...addedLinesByFile(patch)]).toEqual([['node_modules/werift/lib/x.js', ['fixed();']]]);
  });
});

describe('every command, run from the installed rtc-cli', () => {
  it('--version, --help and each command\'s --help', async () => {
    const v = await runCli(['--version'], run);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkgJson.version);
    const help = await runCli(['--help'], run);
    expect(help.code, help.stderr).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    for (const c of [...COMMANDS, 'sdp inspect']) {
      const r = await runCli([...c.split(' '), '--help'], run);
      expect(r.code, `${c} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: rtc-cli ${c}`);
    }
  });

  it('serve answers / with the companion page and /healthz with JSON; the embedded STUN server runs', async () => {
    serve = await startServe(['--json', '--stun-port', '0'], run);
    const page = await fetch(`http://127.0.0.1:${serve.port}/`);
    expect(page.status).toBe(200);
    const title = /<title>[^<]*<\/title>/.exec(readFileSync(join(REPO, 'src/web/index.html'), 'utf8'))![0];
    expect(await page.text()).toContain(title);
    const app = await fetch(`http://127.0.0.1:${serve.port}/app.js`);
    expect(app.status).toBe(200);
    // Every module the page loads, followed through its imports: the page's own, and the noble modules and word list
    // serve hands it under /vendor/ from the installed dependencies (src/signaling/page-vendor.ts).
    const loaded = await crawlModules(`http://127.0.0.1:${serve.port}/app.js`);
    for (const must of ['/files/section.js', '/auth/spake2.js', '/vendor/noble-curves/esm/nist.js', '/vendor/noble-hashes/esm/scrypt.js', '/vendor/rtc-cli/wordlist.js']) {
      expect(loaded, must).toContain(must);
    }
    const health = await fetch(`http://127.0.0.1:${serve.port}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/json/);
    expect(await health.json()).toMatchObject({ ok: true });
    expect(serve.stunUrl).toMatch(/^stun:127\.0\.0\.1:\d+$/);
  });

  it('sdp inspect explains a packaged example', async () => {
    const r = await runCli(['sdp', 'inspect', join(inst.root, 'fixtures/sdp/werift-offer.sdp'), join(inst.root, 'fixtures/sdp/werift-answer.sdp')], run);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/offer, BUNDLE/);
    expect(r.stdout).toMatch(/VP8\/90000/i);
  });

  it('publish testsrc --manual prints its offer line', async () => {
    const child = spawnCli(['publish', 'testsrc', '--manual', '--ice-address', '127.0.0.1', '--timeout', '5'], run);
    const done = collect(child, { timeoutMs: 30_000 });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^rtc1\.offer\.\S+\n/m.test(out)) resolve();
      });
      child.once('close', () => resolve());
    });
    child.kill('SIGINT');
    const r = await done;
    expect(out, r.stderr).toMatch(/^rtc1\.offer\.\S+$/m);
    expect(r.stderr).not.toContain('RTC_ERR_FILE_NOT_FOUND');
  });

  it('nat-probe classifies against serve\'s embedded STUN server', async () => {
    const r = await runCli(['nat-probe', serve!.stunUrl!, '--ice-address', '127.0.0.1', '--json'], run);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { mappedAddress: string; mapping: string };
    expect(res.mappedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.mapping).toBe('none');
  });

  it('send-file → recv-file through the installed serve: the bytes arrive intact', async () => {
    const dir = join(work, 'files');
    const outDir = join(work, 'received');
    mkdirSync(dir);
    mkdirSync(outDir);
    const file = join(dir, 'payload.bin');
    const bytes = randomBytes(256 * 1024);
    writeFileSync(file, bytes);
    const { send, recv } = await transferPair(serve!.signal, `pkg-${randomBytes(3).toString('hex')}`, file, outDir, ['--json'], run);
    expect(send.code, send.stderr).toBe(0);
    expect(recv.code, recv.stderr).toBe(0);
    const res = JSON.parse(recv.stdout.trim().split('\n').at(-1)!) as { files: Array<{ sha256: string }> };
    expect(res.files[0]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(readFileSync(join(outDir, 'payload.bin')).equals(bytes)).toBe(true);
  });

  it('publish testsrc → record writes a WebM', async () => {
    const out = join(work, 'rec.webm');
    const common = ['--signal', serve!.signal, '--room', `pkg-${randomBytes(3).toString('hex')}`, '--ice-address', '127.0.0.1', '--json'];
    const pub = collect(spawnCli(['publish', 'testsrc', '--loop', '--duration', '15', ...common], run), { timeoutMs: 60_000 });
    const rec = await collect(spawnCli(['record', out, '--duration', '2', ...common], run), { timeoutMs: 60_000 });
    expect(rec.code, rec.stderr).toBe(0);
    const res = JSON.parse(rec.stdout.trim().split('\n').at(-1)!) as { video: { codec: string; frames: number }; bytes: number };
    expect(res.video.codec).toBe('VP8');
    expect(res.video.frames).toBeGreaterThan(20);
    expect(readFileSync(out).subarray(0, 4).toString('hex')).toBe('1a45dfa3'); // EBML magic
    expect((await pub).code).toBe(0);
  });

  it('turn-check (with the werift ICE worker) and ice-gather against a real coturn', async () => {
    turn = await startCoturn({ tls: false });
    const env = { ...run.env, RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: turn.password };
    const tc = await runCli(['turn-check', turn.urls.udp, '--json'], { ...run, env });
    expect(tc.code, tc.stdout + tc.stderr).toBe(0);
    expect(JSON.parse(tc.stdout)).toMatchObject({ ok: true, checks: [{ ice: { ok: true } }] });
    const ig = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--ice-server', turn.urls.udp, '--json'], {
      ...run,
      env: { ...run.env, RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: turn.password },
    });
    expect(ig.code, ig.stdout + ig.stderr).toBe(0);
    expect((JSON.parse(ig.stdout) as { candidates: Array<{ type: string }> }).candidates.map((c) => c.type)).toContain('relay');
  });
});

/** Fetch an ES module and, recursively, every static import of it; every one must be served as JavaScript. */
async function crawlModules(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const url = todo.pop()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    expect(res.headers.get('content-type'), url).toMatch(/javascript/);
    const body = await res.text();
    for (const m of body.matchAll(/(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]*?\sfrom\s*)?['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      // A browser cannot resolve a bare specifier without an import map (which the page's CSP forbids).
      expect(spec, `${url} imports ${spec}`).toMatch(/^\.{0,2}\//);
      todo.push(new URL(spec, url).href);
    }
  }
  return [...seen].map((u) => new URL(u).pathname);
}
