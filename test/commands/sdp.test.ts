/**
 * `rtc-cli sdp inspect` on real SDPs stored in fixtures/sdp (werift offer/answer with loopback candidates, Chromium's
 * createOffer; regenerate with `npx tsx fixtures/sdp/generate.ts`), through the real binary with --json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, removeDir, spawnCli, tempDir } from '../helpers/peer.js';
import { encodeManualLine } from '../../src/rtc/manual-signal.js';
import { inspectSdp, type SdpPairReport, type SdpReport } from '../../src/rtc/sdp-inspect.js';

const FIX = fileURLToPath(new URL('../../fixtures/sdp/', import.meta.url));
const weriftOffer = join(FIX, 'werift-offer.sdp');
const weriftAnswer = join(FIX, 'werift-answer.sdp');
const chromiumOffer = join(FIX, 'chromium-offer.sdp');

let dir: string;
beforeAll(async () => {
  dir = await tempDir('rtc-sdp-');
});
afterAll(async () => {
  if (dir) await removeDir(dir);
});

async function inspect<T = SdpReport>(...args: string[]): Promise<T> {
  const r = await collect(spawnCli(['sdp', 'inspect', ...args, '--json']));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('sdp inspect', () => {
  it('explains a werift offer: sections, codecs, transport, loopback candidates', async () => {
    const r = await inspect(weriftOffer);
    expect(r.type).toBe('offer');
    expect(r.bundle).toEqual(['0', '1', '2']);
    expect(r.sections.map((s) => [s.kind, s.mid, s.direction])).toEqual([
      ['audio', '0', 'sendrecv'],
      ['video', '1', 'sendonly'],
      ['application', '2', null],
    ]);
    expect(r.sections[0]!.codecs[0]).toMatchObject({ name: 'OPUS', clockRate: 48000, channels: 2 });
    expect(r.sections[1]!.codecs[0]).toMatchObject({ name: 'VP8', clockRate: 90000 });
    expect(r.sections[1]!.codecs[0]!.rtcpFb).toContain('nack pli');
    expect(r.sections[2]!.sctp).toEqual({ port: 5000, maxMessageSize: 65536 });
    for (const s of r.sections) {
      expect(s.dtls.setup).toBe('actpass');
      expect(s.dtls.fingerprint?.hash).toBe('sha-256');
      expect(s.ice.ufrag).toMatch(/^\w+$/);
    }
    expect(r.candidates.length).toBeGreaterThan(0);
    for (const c of r.candidates) expect(c).toMatchObject({ type: 'host', protocol: 'udp', address: '127.0.0.1' });
    expect(r.warnings.join('\n')).toMatch(/only host candidates on loopback/);
  });

  it('explains a Chromium offer (fmtp, rtcp-fb, rtx) and warns that it has no candidates', async () => {
    const r = await inspect(chromiumOffer);
    expect(r.type).toBe('offer');
    const video = r.sections.find((s) => s.kind === 'video')!;
    const h264 = video.codecs.find((c) => c.name === 'H264')!;
    expect(h264.fmtp).toMatch(/profile-level-id=/);
    expect(h264.rtcpFb).toEqual(expect.arrayContaining(['nack', 'nack pli', 'transport-cc']));
    expect(video.codecs.some((c) => c.name === 'rtx' && /apt=\d+/.test(c.fmtp ?? ''))).toBe(true);
    expect(r.sections.find((s) => s.kind === 'audio')!.codecs[0]).toMatchObject({ name: 'opus', clockRate: 48000, channels: 2 });
    expect(r.candidates).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(/no ICE candidates/);
  });

  it('checks an offer and its answer together', async () => {
    const p = await inspect<SdpPairReport>(weriftOffer, weriftAnswer);
    expect(p.answer.type).toBe('answer');
    expect(p.negotiation.map((n) => [n.kind, n.common])).toEqual([
      ['audio', ['opus/48000/2', 'pcmu/8000']],
      ['video', ['vp8/90000']],
      ['application', []],
    ]);
    expect(p.warnings).toEqual([]);
  });

  it('warns about no common codec, a missing fingerprint, and reads JSON, manual lines and stdin', async () => {
    const answer = readFileSync(weriftAnswer, 'utf8').replace('VP8/90000', 'H264/90000');
    writeFileSync(join(dir, 'h264-answer.sdp'), answer);
    const p = await inspect<SdpPairReport>(weriftOffer, join(dir, 'h264-answer.sdp'));
    expect(p.warnings.join('\n')).toMatch(/m=video \(mid 1\): no common codec between offer \(VP8\) and answer \(H264\)/);
    expect(p.negotiation[1]!.common).toEqual([]);

    const noFp = readFileSync(weriftOffer, 'utf8').replace(/a=fingerprint:[^\r\n]*\r?\n/g, '');
    writeFileSync(join(dir, 'nofp.json'), JSON.stringify({ type: 'offer', sdp: noFp }));
    const r = await inspect(join(dir, 'nofp.json'));
    expect(r.warnings.filter((w) => /no a=fingerprint/.test(w))).toHaveLength(3);

    const line = encodeManualLine({ type: 'answer', sdp: readFileSync(weriftAnswer, 'utf8') });
    const viaStdin = await collect(spawnCli(['sdp', 'inspect', '-', '--json']), { input: line + '\n' });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect((JSON.parse(viaStdin.stdout) as SdpReport).type).toBe('answer');
  });

  it('exits 2 with RTC_ERR_BAD_SDP for input that is not an SDP, and 2 for a missing file', async () => {
    const bad = await collect(spawnCli(['sdp', 'inspect', '-', '--json']), { input: 'hello\nworld\n' });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_BAD_SDP' } });
    expect(() => inspectSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nthis is not a line\r\n')).toThrow(/line 3/);
    const missing = await collect(spawnCli(['sdp', 'inspect', join(dir, 'nope.sdp'), '--json']));
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_FILE_NOT_FOUND' } });
  });
});
