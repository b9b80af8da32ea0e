#!/usr/bin/env node
/**
 * postinstall: apply rtc-cli's werift patches (patches/werift+<version>+NNN+<name>.patch, see patches/README.md) with
 * patch-package, to the werift that Node will actually load for rtc-cli, wherever npm put it:
 *
 *   - this repository (`npm ci`):              ./node_modules/werift
 *   - a dependency, hoisted (`npm install rtc-cli`):  <app>/node_modules/werift, next to node_modules/rtc-cli
 *   - a dependency, nested, or `npm install -g`:     node_modules/rtc-cli/node_modules/werift
 *
 * patch-package resolves a patch's `node_modules/werift/...` paths against its working directory, so it runs in the
 * directory that holds that node_modules, with --patch-dir pointing back at this package's patches/.
 *
 * Never fails the install: if werift is another version, patch-package is missing, RTC_CLI_NO_WERIFT_PATCHES=1 is
 * set, or a patch does not apply, it says so in one line and leaves werift stock (data channels then run at stock
 * werift speed, and werift does not verify the DTLS peer's handshake signatures, patch 008; `send-file --json`
 * reports `"werift":{"patched":false,"dtlsProofs":false}`). npm hides dependencies' install output
 * unless it fails or --foreground-scripts is given, which is why the runtime reports the state too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const PATCHES = join(ROOT, 'patches');
const say = (msg) => process.stdout.write(`rtc-cli postinstall: ${msg}\n`);

function main() {
  if (process.env.RTC_CLI_NO_WERIFT_PATCHES === '1') {
    say('RTC_CLI_NO_WERIFT_PATCHES=1: werift left unpatched (stock data-channel speed, no DTLS peer-proof checks: see SECURITY.md)');
    return;
  }
  const require = createRequire(join(ROOT, 'package.json'));
  // The first node_modules/werift on Node's lookup path from this package is the one rtc-cli imports.
  const found = (require.resolve.paths('werift') ?? []).map((d) => join(d, 'werift')).find((d) => existsSync(join(d, 'package.json')));
  if (!found) {
    say('werift is not installed next to rtc-cli; nothing to patch');
    return;
  }
  const weriftDir = realpathSync(found);
  const version = JSON.parse(readFileSync(join(weriftDir, 'package.json'), 'utf8')).version;
  const patches = existsSync(PATCHES) ? readdirSync(PATCHES).filter((f) => f.startsWith('werift+') && f.endsWith('.patch')) : [];
  const forVersion = patches.filter((f) => f.startsWith(`werift+${version}+`));
  if (forVersion.length === 0) {
    const wanted = [...new Set(patches.map((f) => f.split('+')[1]))].join(', ') || 'none';
    say(`werift ${version} found, patches are for werift ${wanted}: werift left unpatched (stock data-channel speed, no DTLS peer-proof checks: see SECURITY.md)`);
    return;
  }
  let patchPackage;
  try {
    patchPackage = require.resolve('patch-package/dist/index.js');
  } catch {
    say('patch-package is not installed: werift left unpatched (stock data-channel speed, no DTLS peer-proof checks: see SECURITY.md)');
    return;
  }
  // <dir>/node_modules/werift → run in <dir>; pnpm's .pnpm/werift@x/node_modules/werift has the same shape.
  const cwd = dirname(dirname(weriftDir));
  const r = spawnSync(process.execPath, [patchPackage, '--patch-dir', relative(cwd, PATCHES), '--error-on-fail'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  if (r.status === 0) {
    say(`werift ${version}: ${forVersion.length} patch(es) applied (patches/README.md)`);
    return;
  }
  const why = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
  say(`the werift patches did not apply in ${weriftDir} (${why || `exit ${r.status}`}): werift left as it was`);
}

try {
  main();
} catch (e) {
  say(`could not apply the werift patches (${e instanceof Error ? e.message : String(e)}): werift left as it was`);
}
