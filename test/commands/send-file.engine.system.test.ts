/**
 * `--engine` with TURN: what the native engine refuses (--relay-only, TURN over TCP) and what `auto` does instead.
 * Real rtc-cli processes, a real signaling server and a real coturn, all on loopback (--ice-address 127.0.0.1). The
 * cases without TURN (native <-> werift, codes, manual, the missing binary) are in send-file.engine.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { BIN, waitForJsonLine } from '../helpers/cli.js';
import { expectDelivered } from '../helpers/engine-transfer.js';
import { collect, peerFlags, peerTestBed, randomFile, resultOf, spawnCli, transferResult, uniqueRoom, type CliResult } from '../helpers/peer.js';

const bed = peerTestBed('rtc-engine-');
let turn: Coturn;

beforeAll(async () => {
  turn = await startCoturn({ tls: false });
}, 60_000);

afterAll(async () => {
  await turn?.stop();
});

function errorOf(r: CliResult): { code?: string; message?: string } {
  return (resultOf(r) as { error?: { code?: string; message?: string } }).error ?? {};
}

describe('relay-only through coturn on the native engine', () => {
  it('--relay-only: --engine native refuses it (libjuice does not keep it strict); auto runs werift, path "relayed" on both sides', async () => {
    const ice = ['--ice-server', turn.urls.udp, '--ice-username', turn.username, '--ice-credential', turn.password, '--relay-only'];
    const refused = await collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, uniqueRoom('relay')), ...ice, '--engine', 'native', '--out', bed.sub('relay-refused')]));
    expect(refused.code).toBe(2);
    expect(errorOf(refused)).toMatchObject({ code: 'RTC_ERR_USAGE', message: expect.stringMatching(/--relay-only strict/) });
    const src = bed.sub('relay-src');
    const out = bed.sub('relay-out');
    const hash = await randomFile(join(src, 'f.bin'), 1024 * 1024);
    const room = uniqueRoom('relay-auto');
    const recv = spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), ...ice, '--out', out, '--timeout', '60']);
    const recvDone = collect(recv, { timeoutMs: 120_000 });
    await waitForJsonLine(recv, (e) => e.event === 'waiting-for-peer', 30_000);
    const s = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, room), ...ice, join(src, 'f.bin')]), { timeoutMs: 120_000 });
    const r = await recvDone;
    await expectDelivered({ s, r, out, hash }, { send: 'werift', recv: 'werift' });
    for (const res of [transferResult(s), transferResult(r)]) {
      expect(res.path).toBe('relayed');
      expect(res.selectedPair.local).toMatchObject({ type: 'relay', address: '127.0.0.1' });
    }
    expect(r.stderr.split('\n').filter((l) => l.includes('"warning"') && l.includes('using the werift engine'))).toHaveLength(1);
  }, 180_000);

  it('a TURN server over TCP: --engine native refuses it (libjuice relays over UDP only); auto says so once and runs werift', async () => {
    const ice = ['--ice-server', turn.urls.tcp, '--ice-username', turn.username, '--ice-credential', turn.password];
    const refused = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, uniqueRoom('tcp')), ...ice, '--engine', 'native', BIN]));
    expect(refused.code).toBe(2);
    expect(errorOf(refused)).toMatchObject({ code: 'RTC_ERR_USAGE', message: expect.stringMatching(/TURN servers over UDP only/) });
    // auto: one warning line, then werift (its TURN client speaks TCP).
    const src = bed.sub('tcp-auto2-src');
    const out = bed.sub('tcp-auto2-out');
    const hash = await randomFile(join(src, 'f.bin'), 100_000);
    const room = uniqueRoom('tcp-auto2');
    const recv = spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), ...ice, '--engine', 'auto', '--out', out, '--timeout', '60']);
    const recvDone = collect(recv, { timeoutMs: 120_000 });
    await waitForJsonLine(recv, (e) => e.event === 'waiting-for-peer', 30_000);
    const s = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, room), ...ice, '--engine', 'werift', join(src, 'f.bin')]), { timeoutMs: 120_000 });
    const r = await recvDone;
    await expectDelivered({ s, r, out, hash }, { send: 'werift', recv: 'werift' });
    const warnings = r.stderr.split('\n').filter((l) => l.includes('"warning"') && l.includes('engine'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/over UDP only.*using the werift engine/);
  }, 240_000);
});

