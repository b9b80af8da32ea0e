/**
 * Whether the werift rtc-cli loads carries rtc-cli's performance patches (patches/werift+<version>+NNN+<name>.patch,
 * applied at install by patches/postinstall.mjs with patch-package; patches/README.md says what each one changes).
 *
 * patch-package records what it applied in `<werift>/.patch-package.json`: each patch file's name and the SHA-256 of
 * its content. This compares that record with the patch files this package ships, so a werift of another version, an
 * install that skipped scripts, or a patch that failed to apply shows up as `patched: false` in the send-file /
 * recv-file result instead of as an unexplained slow transfer, and `dtlsProofs: false` says that werift does not verify the
 * DTLS peer's handshake signatures (patch 008 missing). Reads a few small files once; never throws.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WeriftPatchState {
  /** The installed werift version (null when it could not be read). */
  version: string | null;
  /** Every patch shipped for this version is recorded as applied, with the same content. */
  patched: boolean;
  /** Names of the patches applied (e.g. "sack-every-second-packet"). */
  applied: string[];
  /**
   * werift checks the DTLS peer's proofs of key possession: patch 008 (dtls-verify-peer-proofs) is applied with this
   * package's content. Without it, werift 0.25.2 accepts a peer that replays a certificate without holding its key
   * (SECURITY.md).
   */
  dtlsProofs: boolean;
}

/** The patch that makes werift verify the DTLS peer's signatures and Finished (patches/README.md, 008). */
const DTLS_PROOFS_PATCH = 'dtls-verify-peer-proofs';
const UNKNOWN: WeriftPatchState = { version: null, patched: false, applied: [], dtlsProofs: false };

/** The package root: two levels above src/rtc/ (tsx) or dist/rtc/ (the build). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface PatchRecord {
  patchFilename: string;
  patchContentHash: string;
  didApply: boolean;
}

let cached: WeriftPatchState | undefined;

/** The state of the werift `import('werift')` loads from this package (computed once). */
export function weriftPatchState(): WeriftPatchState {
  cached ??= readWeriftPatchState(PACKAGE_ROOT, fileURLToPath(import.meta.url));
  return cached;
}

/**
 * The state of the werift Node finds from `from` (a file path), compared with `<packageRoot>/patches` (exported for
 * tests).
 */
export function readWeriftPatchState(packageRoot: string, from: string): WeriftPatchState {
  try {
    const require = createRequire(from);
    // The first node_modules/werift on Node's lookup path is the one `import('werift')` loads.
    const dir = (require.resolve.paths('werift') ?? []).map((d) => join(d, 'werift')).find((d) => existsSync(join(d, 'package.json')));
    if (!dir) return { ...UNKNOWN, applied: [] };
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
    const patchDir = join(packageRoot, 'patches');
    const shipped = existsSync(patchDir) ? readdirSync(patchDir).filter((f) => f.startsWith(`werift+${version}+`) && f.endsWith('.patch')) : [];
    const stateFile = join(dir, '.patch-package.json');
    const records = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { patches?: PatchRecord[] }).patches ?? [] : [];
    const applied = records.filter((r) => r.didApply).map((r) => r.patchFilename);
    const sameContent = (f: string): boolean => {
      const rec = records.find((r) => r.patchFilename === f && r.didApply);
      return rec !== undefined && rec.patchContentHash === createHash('sha256').update(readFileSync(join(patchDir, f))).digest('hex');
    };
    return {
      version,
      patched: shipped.length > 0 && shipped.every(sameContent),
      applied: applied.map((f) => f.replace(/^werift\+[^+]+\+\d+\+/, '').replace(/\.patch$/, '')),
      dtlsProofs: shipped.some((f) => f.endsWith(`+${DTLS_PROOFS_PATCH}.patch`) && sameContent(f)),
    };
  } catch {
    return { ...UNKNOWN, applied: [] };
  }
}
