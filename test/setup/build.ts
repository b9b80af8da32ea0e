// Global setup: compile once so every test that spawns bin/rtc-cli.js runs the current source. Type errors do not
// stop the emit (CI checks types separately with `npm run typecheck`), so one broken file elsewhere does not hide
// every e2e result; a missing output does.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write('test setup: tsc reported errors (see above); running tests against what it emitted\n');
  if (!existsSync('dist/cli.js')) throw new Error('test setup: dist/cli.js was not built');
}
