/**
 * GStreamer webrtcbin 1.22 with bundle-policy max-bundle offers RFC 8843 bundle-only m-sections: port 0 and
 * `a=bundle-only` on every section but the first (§6, §7.2). Port 0 there means "only if bundled", not "rejected",
 * but werift 0.25 reads it as rejected: without src/rtc/sdp-bundle.ts, record answers the audio section with port 0
 * (a video-only file) and publish sends webrtcbin no audio. Here webrtcbin (written from docs/*.md, always the later
 * joiner, so always the offerer) sends to record and receives from publish, and both tracks must flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { finished, startInteropLab, type InteropLab, type PeerEvent } from '../helpers/aiortc.js';
import { ffmpegDecodes, probeFrames } from '../helpers/browser-netns.js';
import { waitForJsonLine } from '../helpers/cli.js';

let lab: InteropLab;
let n = 0;
const room = (): string => `gst-${++n}-${Date.now()}`;

beforeAll(async () => {
  lab = await startInteropLab(['webrtcbin']);
}, 60_000);
afterAll(() => lab?.destroy());

/** The offer really is the case under test: the second section is bundle-only with port 0. */
function expectBundleOnlyOffer(peer: { events: PeerEvent[] }): void {
  const offer = peer.events.find((e) => e.event === 'offer-sent')?.sdp as string;
  expect(offer).toMatch(/a=group:BUNDLE \S+ \S+/);
  expect(offer).toMatch(/m=audio 0 [^\r\n]*\r\n(?:[^\r\n]*\r\n)*?a=bundle-only/);
}

describe('GStreamer webrtcbin offers bundle-only m-sections', () => {
  it('record accepts the bundle-only audio section: video and audio recorded', async () => {
    const r = room();
    const out = join(lab.ns.dir, 'gst.webm');
    const rec = lab.cli(['record', '--room', r, out, '--timeout', '30']);
    const recDone = finished(rec);
    await waitForJsonLine(rec, (o) => o.event === 'waiting-for-peer');
    const peer = lab.peer('webrtcbin', ['send-media', '--room', r, '--seconds', '4']);
    const sent = (await peer.result()).sent as { video: number; audio: number };
    const res = await recDone;
    expect(res.code, res.stderr).toBe(0);
    expectBundleOnlyOffer(peer);
    const answer = peer.events.find((e) => e.event === 'answer-received')?.sdp as string;
    expect(answer).not.toMatch(/m=audio 0 /);
    const result = res.json.at(-1) as { video?: { frames: number }; audio?: { codec: string; frames: number } };
    expect(result.audio?.codec.toLowerCase()).toBe('opus');
    expect(result.video!.frames).toBeGreaterThanOrEqual(0.9 * sent.video);
    expect(result.audio!.frames).toBeGreaterThanOrEqual(0.9 * sent.audio);
    expect(ffmpegDecodes(out).ok).toBe(true);
    expect(probeFrames(out).audio?.codec).toBe('opus');
  }, 120_000);

  it('publish sends on the bundle-only audio section: webrtcbin decodes video and audio', async () => {
    const r = room();
    const pub = lab.cli(['publish', '--room', r, 'fixtures/media/testsrc-av-320x240.webm', '--timeout', '30']);
    const pubDone = finished(pub);
    await waitForJsonLine(pub, (o) => o.event === 'waiting-for-peer');
    const peer = lab.peer('webrtcbin', ['recv-media', '--room', r, '--seconds', '10']);
    const got = await peer.result();
    const res = await pubDone;
    expect(res.code, res.stderr).toBe(0);
    expectBundleOnlyOffer(peer);
    const result = res.json.at(-1) as { video: { framesSent: number }; audio: { framesSent: number } };
    expect((got.video as { frames: number }).frames).toBeGreaterThanOrEqual(0.9 * result.video.framesSent);
    expect((got.audio as { frames: number } | undefined)?.frames ?? 0).toBeGreaterThanOrEqual(0.9 * result.audio.framesSent);
  }, 120_000);
});
