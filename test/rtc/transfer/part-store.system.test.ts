/** The partial-file store refuses a partial directory owned by another user (system tier: root plants it with chown). */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PARTIAL_DIR } from '../../../src/rtc/transfer/names.js';
import { removeDir, tempDir } from '../../helpers/peer.js';
import { expectPartialDirRefused } from '../../helpers/part-store.js';
import { requireRoot } from '../../helpers/prereq.js';

let dir: string;

beforeAll(async () => {
  requireRoot('chown of a directory to another user');
  dir = await tempDir('rtc-parts-root-');
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

describe('the partial directory', () => {
  it('is refused when it is owned by another user, before connecting (exit 2) and when claiming', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    mkdirSync(join(out, PARTIAL_DIR), 0o700);
    chownSync(join(out, PARTIAL_DIR), 65534, 65534);
    await expectPartialDirRefused(out, /another user/);
  });
});
