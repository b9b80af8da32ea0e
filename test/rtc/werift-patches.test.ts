/**
 * The runtime report of rtc-cli's werift patches: `readWeriftPatchState` against real directories (this checkout's
 * node_modules, and temporary package layouts for the cases an install can end in), the `werift` field of the real
 * send-file / recv-file `--json` results, and the `note:` lines a werift without the patches gets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readWeriftPatchState, type WeriftPatchState } from '../../src/rtc/werift-patches.js';
import { formatResult } from '../../src/rtc/file-transfer-format.js';
import type { TransferResult } from '../../src/rtc/transfer/types.js';
import { collect, peerFlags, randomFile, removeDir, resultOf, spawnCli, startServer, tempDir, uniqueRoom } from '../helpers/peer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED = readdirSync(join(ROOT, 'patches')).filter((f) => f.endsWith('.patch')).sort();
const NAMES = SHIPPED.map((f) => f.replace(/^werift\+[^+]+\+\d+\+/, '').replace(/\.patch$/, ''));

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

/** A package `<root>` that ships `patches`, with a werift of `version` in `<root>/node_modules` and a state file. */
async function layout(version: string, state?: { patchFilename: string; patchContentHash: string; didApply: boolean }[]): Promise<string> {
  const root = await tempDir('rtc-patchstate-');
  dirs.push(root);
  mkdirSync(join(root, 'patches'));
  for (const f of SHIPPED) writeFileSync(join(root, 'patches', f), readFileSync(join(ROOT, 'patches', f)));
  mkdirSync(join(root, 'node_modules/werift'), { recursive: true });
  writeFileSync(join(root, 'node_modules/werift/package.json'), JSON.stringify({ name: 'werift', version }));
  if (state) writeFileSync(join(root, 'node_modules/werift/.patch-package.json'), JSON.stringify({ version: 1, isRebasing: false, patches: state }));
  mkdirSync(join(root, 'dist'));
  return root;
}

/** CRC32c the slow way (RFC 9260 Appendix A: reflected polynomial 0x82F63B78), as the reference. */
function crc32cBitwise(buf: Buffer, seed = 0): number {
  let crc = ~seed;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

const sha256 = (f: string): string => createHash('sha256').update(readFileSync(join(ROOT, 'patches', f))).digest('hex');

describe('patched crc32c (werift+0.25.2+007)', () => {
  it('matches the RFC 3720 B.4 test vectors and a bitwise CRC32c on every length and with a seed', async () => {
    const { crc32c } = await import('werift');
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    for (let len = 0; len < 200; len++) {
      const b = randomBytes(len);
      expect(crc32c(b)).toBe(crc32cBitwise(b));
    }
    // Chained over parts (how the patched parsePacket checks a packet without copying it).
    const packet = randomBytes(1203);
    const chained = crc32c(packet.subarray(12), crc32c(Buffer.alloc(4), crc32c(packet.subarray(0, 8))));
    expect(chained).toBe(crc32cBitwise(Buffer.concat([packet.subarray(0, 8), Buffer.alloc(4), packet.subarray(12)])));
  });
});

describe('the note a user sees with a werift that lacks the patches', () => {
  const result = (werift: WeriftPatchState, authenticated: boolean): TransferResult => ({
    role: 'receiver',
    engine: 'werift',
    files: [],
    failed: [],
    bytes: 0,
    seconds: 1,
    mbps: 0,
    path: 'direct',
    selectedPair: { path: 'direct', local: { type: 'host', protocol: 'udp', address: '127.0.0.1', port: 1 }, remote: { type: 'host', protocol: 'udp', address: '127.0.0.1', port: 2 } },
    setupMs: 1,
    werift,
    authenticated,
  });
  const stock: WeriftPatchState = { version: '0.25.2', patched: false, applied: [], dtlsProofs: false };

  it('a --room/--manual session without patch 008 says the DTLS peer is not checked; a code session (bound) and a patched werift do not', () => {
    expect(formatResult(result(stock, false))).toMatch(/^note: werift 0\.25\.2 does not check that the DTLS peer holds its certificate's key \(rtc-cli's werift patch 008 is missing\)/m);
    expect(formatResult(result(stock, true))).not.toMatch(/patch 008/);
    expect(formatResult(result({ ...stock, patched: false, dtlsProofs: true }, false))).not.toMatch(/patch 008/);
    expect(formatResult(result(stock, false))).toMatch(/^note: .*performance patches/m);
  });
});

describe('werift patch state', () => {
  it('this checkout: npm ci applied every shipped patch to node_modules/werift', () => {
    expect(SHIPPED.length).toBeGreaterThan(0);
    const s = readWeriftPatchState(ROOT, join(ROOT, 'dist/cli.js'));
    expect(NAMES).toContain('dtls-verify-peer-proofs');
    expect(s).toEqual({ version: '0.25.2', patched: true, applied: NAMES, dtlsProofs: true });
  });

  it('reports unpatched when the install skipped scripts (no patch-package record)', async () => {
    const root = await layout('0.25.2');
    expect(readWeriftPatchState(root, join(root, 'dist/cli.js'))).toEqual({ version: '0.25.2', patched: false, applied: [], dtlsProofs: false });
  });

  it('reports unpatched when a patch failed to apply or changed since it was applied', async () => {
    const records = SHIPPED.map((f) => ({ patchFilename: f, patchContentHash: sha256(f), didApply: true }));
    const dtls = SHIPPED.findIndex((f) => f.endsWith('+dtls-verify-peer-proofs.patch'));
    const failed = await layout('0.25.2', records.map((r, i) => (i === dtls ? { ...r, didApply: false } : r)));
    expect(readWeriftPatchState(failed, join(failed, 'dist/cli.js'))).toEqual({
      version: '0.25.2',
      patched: false,
      applied: NAMES.filter((_, i) => i !== dtls),
      dtlsProofs: false,
    });
    // A stale performance patch leaves the DTLS checks in place (and the other way round).
    const stale = await layout('0.25.2', records.map((r, i) => (i === 0 ? { ...r, patchContentHash: '0'.repeat(64) } : r)));
    expect(readWeriftPatchState(stale, join(stale, 'dist/cli.js'))).toMatchObject({ patched: false, dtlsProofs: true });
    const staleDtls = await layout('0.25.2', records.map((r, i) => (i === dtls ? { ...r, patchContentHash: '0'.repeat(64) } : r)));
    expect(readWeriftPatchState(staleDtls, join(staleDtls, 'dist/cli.js'))).toMatchObject({ patched: false, dtlsProofs: false });
    const ok = await layout('0.25.2', records);
    expect(readWeriftPatchState(ok, join(ok, 'dist/cli.js'))).toEqual({ version: '0.25.2', patched: true, applied: NAMES, dtlsProofs: true });
  });

  it('reports unpatched for a werift version the patches are not for', async () => {
    const root = await layout('0.26.0', []);
    expect(readWeriftPatchState(root, join(root, 'dist/cli.js'))).toEqual({ version: '0.26.0', patched: false, applied: [], dtlsProofs: false });
  });

  it('send-file and recv-file --json carry {"werift":{"version","patched":true,"applied","dtlsProofs":true}}', async () => {
    const server = await startServer();
    const dir = await tempDir();
    dirs.push(dir);
    try {
      const room = uniqueRoom('patchstate');
      const file = join(dir, 'a.bin');
      await randomFile(file, 200_000);
      mkdirSync(join(dir, 'in'));
      const recv = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', join(dir, 'in')]));
      const send = collect(spawnCli(['send-file', ...peerFlags(server.signalUrl, room), file]));
      const [s, r] = await Promise.all([send, recv]);
      expect(s.code, s.stderr).toBe(0);
      expect(r.code, r.stderr).toBe(0);
      for (const res of [resultOf(s), resultOf(r)]) {
        expect(res.werift).toEqual({ version: '0.25.2', patched: true, applied: NAMES, dtlsProofs: true });
      }
      // The patched werift is silent about it; the notes below are for a stock one.
      expect(s.stdout + s.stderr + r.stdout + r.stderr).not.toMatch(/patch 008/);
    } finally {
      await server.close();
    }
  });
});
