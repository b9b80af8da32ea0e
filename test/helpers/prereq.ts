/**
 * Prerequisites of the system tier (`npm run test:system`): a missing program or missing root fails the test with what
 * to install, never skips it (README "Development"). `bash scripts/install-test-deps.sh` installs every package.
 */
import { spawnSync } from 'node:child_process';

const INSTALL = 'run `bash scripts/install-test-deps.sh` as root';

/** Throw unless `program` runs (`args` must make it exit 0, or at least start); names the Debian package to install. */
export function requireProgram(program: string, debianPackage: string, args: string[] = ['--version']): void {
  const r = spawnSync(program, args, { stdio: 'ignore', timeout: 30_000 });
  if (r.error) throw new Error(`system test needs \`${program}\` (Debian package ${debianPackage}): ${r.error.message}; ${INSTALL}, or apt-get install ${debianPackage}`);
}

/** Throw unless this process is root (network namespaces, nftables, mounts). */
export function requireRoot(why: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`system test needs root for ${why}; run \`npm run test:system\` as root (CI does)`);
  }
}
