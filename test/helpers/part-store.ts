/** Shared by the partial-file store's tests (test/rtc/transfer/part-store*.test.ts). */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { PartStore, type PartIdentity } from '../../src/rtc/transfer/part-store.js';
import { checkOutDir } from '../../src/rtc/transfer/out-dir.js';
import { collect, errorCode, spawnCli } from './peer.js';

export const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
export const id = (over: Partial<PartIdentity> = {}): PartIdentity => ({ target: 'a.bin', size: 10, sha256: sha('0123456789'), ...over });

/** A partial directory planted in `out` is refused by the out-dir check (exit 2 before connecting) and by claim. */
export async function expectPartialDirRefused(out: string, message: RegExp): Promise<void> {
  await expect(checkOutDir(out)).rejects.toMatchObject({ code: 'RTC_ERR_BAD_OUTPUT', message: expect.stringMatching(message) });
  await expect(new PartStore(out).claim(id())).rejects.toMatchObject({ code: 'RTC_ERR_WRITE', message: expect.stringMatching(message) });
  const r = await collect(spawnCli(['recv-file', '--signal', 'ws://127.0.0.1:9/ws', '--room', 'x', '--json', '--out', out]));
  expect(r.code).toBe(2);
  expect(errorCode(r)).toBe('RTC_ERR_BAD_OUTPUT');
}
