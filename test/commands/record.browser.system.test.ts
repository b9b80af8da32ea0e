/**
 * Real Chromium (fake camera + microphone) → the companion page → `rtc-cli record` (the real bin), inside a network
 * namespace this file creates (Chromium gathers no loopback candidates; see test/helpers/browser-netns.ts).
 *
 * The frame-exact targets: the page sends for a while, then stops both tracks at once, reads what it sent from its
 * own getStats (framesSent, packetsSent) and leaves; the recorder stops because the peer left. The file must hold
 * exactly what was sent (± 1 frame), end both tracks together (≤ 20 ms), have no audio gap over 25 ms, start with a
 * keyframe, show no drift between the tracks, and pass the structural checks of test/helpers/media-check.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { collect, waitForJsonLine, type CliResult } from '../helpers/cli.js';
import { createNetns, ffmpegDecodes, probeFrames, startServeInNetns, type Netns } from '../helpers/browser-netns.js';
import { describeVerdict, judgeRecording, type RecordingVerdict } from '../helpers/media-check.js';

const FPS = 30;
let ns: Netns;
let serve: Awaited<ReturnType<typeof startServeInNetns>>;
let browser: Browser;

beforeAll(async () => {
  ns = createNetns('rec');
  serve = await startServeInNetns(ns);
  browser = await ns.launchChromium();
}, 90_000);

afterAll(() => {
  ns?.destroy();
});

let roomN = 0;
/** Open the page publishing the fake camera+mic at 320x240@30 into `room` (joins at once). */
async function openPage(room = `rec-${++roomN}-${Date.now()}`, params = '', init?: string): Promise<{ page: Page; room: string }> {
  const page = await browser.newPage();
  if (init) await page.addInitScript(init);
  // 320x240 keeps Chromium's encoder cheap: on a loaded 2-core machine its CPU-overuse detector otherwise lowers the
  // frame rate it sends, and this test judges the recorder, not the sender (bench/record measures 640x480).
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${serve.pageUrl}?room=${room}&autostart=1&width=320&height=240&frameRate=${FPS}&degradation=maintain-framerate${params}`);
  try {
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  } catch (e) {
    // Say where autostart stopped (camera, signaling, join) instead of only that the page never got ready.
    const where = await page
      .evaluate(() => ({ signaling: document.getElementById('signal-state')?.textContent, notice: document.getElementById('notice')?.textContent }))
      .catch((err: unknown) => ({ evaluate: String(err) }));
    throw new Error(`the page did not get ready in 30 s: ${JSON.stringify(where)}; console: ${consoleLines.slice(-10).join(' | ')}`, { cause: e });
  }
  return { page, room };
}

function record(room: string, out: string, extra: string[] = []): ChildProcessWithoutNullStreams {
  return ns.spawnCli(['record', '--room', room, out, '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json', '--timeout', '30', ...extra]);
}

interface RecordJson {
  path: string;
  container: string;
  durationSeconds: number;
  video?: { codec: string; width: number; height: number; frames: number; framesDropped: number };
  audio?: { codec: string; frames: number };
  packetsLost: number;
  stopReason: string;
}

function lastJson(stdout: string): RecordJson {
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]!) as RecordJson;
}

/** The page's sending frame rate over the run, from its own stats loop (rtcPage.lastStats, every second). */
function sampleSenderFps(page: Page): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    void page
      .evaluate(() => Object.values((window as unknown as { rtcPage: { lastStats: Record<string, { send: { fps?: number } }> } }).rtcPage.lastStats)[0]?.send.fps)
      .then((f) => {
        if (typeof f === 'number') samples.push(f);
      })
      .catch(() => {});
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/**
 * Stop both tracks at the same moment (replaceTrack(null): no renegotiation), let the last packets land, read the
 * sender's own counts from getStats and leave the room.
 */
async function stopSendingAndLeave(page: Page): Promise<{ framesSent: number; audioPacketsSent: number; nacks: number }> {
  return page.evaluate(async () => {
    const st = (window as unknown as { rtcPage: { conns: Map<string, { pc: RTCPeerConnection; videoTx: RTCRtpTransceiver; audioTx: RTCRtpTransceiver }>; leave(): void } }).rtcPage;
    const c = [...st.conns.values()][0]!;
    await Promise.all([c.videoTx.sender.replaceTrack(null), c.audioTx.sender.replaceTrack(null)]);
    await new Promise((r) => setTimeout(r, 1500));
    let framesSent = 0;
    let audioPacketsSent = 0;
    let nacks = 0;
    (await c.pc.getStats()).forEach((s: { type: string; kind?: string; framesSent?: number; packetsSent?: number; nackCount?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        framesSent += s.framesSent ?? 0;
        nacks += s.nackCount ?? 0;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') audioPacketsSent += s.packetsSent ?? 0;
    });
    st.leave();
    return { framesSent, audioPacketsSent, nacks };
  });
}

interface Session {
  res: CliResult;
  json: RecordJson;
  sent: { framesSent: number; audioPacketsSent: number; nacks: number };
  senderFps: number[];
  out: string;
}

/** Record `seconds` of what a fresh page sends (page stops and leaves; the recorder stops on peer-left). */
async function recordUntilPageLeaves(name: string, seconds: number, loss = 0): Promise<Session> {
  const room = `rec-${++roomN}-${Date.now()}`;
  const out = join(ns.dir, `${name}.webm`);
  const child = record(room, out);
  const done = collect(child, { timeoutMs: (seconds + 90) * 1000 });
  const { page } = await openPage(room);
  const fps = sampleSenderFps(page);
  try {
    await waitForJsonLine(child, (o: { event?: string }) => o.event === 'recording', 40_000);
    if (loss) ns.setLoss(loss);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    if (loss) ns.setLoss(0);
    const sent = await stopSendingAndLeave(page);
    const res = await done;
    expect(res.code, res.stderr).toBe(0);
    return { res, json: lastJson(res.stdout), sent, senderFps: fps.stop(), out };
  } finally {
    fps.stop();
    if (loss) ns.setLoss(0);
    await page.close();
  }
}

/**
 * The page's audio may end before its video on its own: Chromium's fake microphone falls behind its camera when the
 * machine is busy. Measured: 1538 packets = 30.76 s of audio over 31.07 s of video at load 15 on 2 cores; 0.17-0.6 s
 * per run in CI with another video-encoding test file alongside; with this file alone on an idle machine, 40-60 ms per
 * minute in one sitting, 0.3-0.73 s in the next, and once 1.37 s. No recorder can make such tracks end together, so the judges
 * expect audio to end that much early (`short`, from the recorded video span and the page's own packet count) and
 * check what the recorder controls: where the tracks start against each other, that no audio is missing or out of
 * place (counts, gaps). The recorder's clocks themselves are checked exactly, without a browser, in
 * record.system.test.ts (frame k at k × 33.333 ms). An attempt with a shortfall beyond this bound is not judged and
 * runs again (the 1.37 s one did; its next attempt was 126 ms): a recorder whose video timeline ran 2 % long would
 * look like it.
 */
const MAX_SENDER_AUDIO_SHORT_MS = 1_000;

/**
 * `short` is estimated from the recorded video span, whose last frame lands anywhere within one frame interval of the
 * moment the page stopped: a judge that subtracts it allows that interval on top.
 */
function slackFor(short: number): number {
  return short > 0 ? 1000 / FPS : 0;
}

/**
 * The test judges the recorder, so an attempt in which the sender itself did not keep up runs once more (up to three
 * attempts): when the page's own getStats shows its encoder fell below 27 fps (a starved sender on a loaded machine:
 * Chromium's CPU-overuse detector lowers the frame rate), or when its audio fell behind its video by more than
 * MAX_SENDER_AUDIO_SHORT_MS. A smaller shortfall is judged, with `short` (above) passed to the judge.
 */
async function recordAndJudge(name: string, seconds: number, loss: number, judge: (s: Session, v: RecordingVerdict, short: number) => void): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const s = await recordUntilPageLeaves(`${name}-${attempt}`, seconds, loss);
    const senderMin = Math.min(...s.senderFps.slice(2, -2));
    const v = judgeRecording(s.out, seconds / 2);
    const video = v.timeline.video;
    const senderAudioShortMs = video ? video.lastMs - video.firstMs + 1000 / FPS - s.sent.audioPacketsSent * 20 : 0;
    const senderKeptUp = senderMin >= 27 && senderAudioShortMs <= MAX_SENDER_AUDIO_SHORT_MS;
    // One line per judged recording in the test log: what the README's figures come from.
    process.stderr.write(`${name} (attempt ${attempt}): sent ${JSON.stringify(s.sent)}; sender audio short by ${senderAudioShortMs.toFixed(0)} ms; ${describeVerdict(v)}; recorder ${JSON.stringify({ video: s.json.video, audio: s.json.audio, packetsLost: s.json.packetsLost })}\n`);
    try {
      if (!senderKeptUp) throw new Error(`not judged: the page itself sent only ${senderMin} fps and its audio fell ${senderAudioShortMs.toFixed(0)} ms behind its video (${describeVerdict(v)})`);
      judge(s, v, Math.max(0, senderAudioShortMs));
      return;
    } catch (e) {
      lastError = e;
      if (senderKeptUp) throw e; // the sender kept up: the recorder is to blame
      process.stderr.write(`${name}: attempt ${attempt} not judged, the page itself sent only ${senderMin} fps and its audio fell ${senderAudioShortMs.toFixed(0)} ms behind its video; trying again\n`);
    }
  }
  throw lastError;
}

function expectCleanFile(v: RecordingVerdict): void {
  const msg = describeVerdict(v);
  expect(v.structure.problems, msg).toEqual([]);
  expect(v.structure.seekEntries, msg).toEqual(expect.arrayContaining(['Info', 'Tracks', 'Cues']));
  expect(v.structure.cuePoints, msg).toBeGreaterThan(1);
  expect(v.mkvinfo, msg).toEqual([]);
  expect(v.ffprobe, msg).toEqual([]);
  expect(v.seek.ok, msg).toBe(true);
}

describe('record a Chromium camera page, frame-exact', () => {
  it('60 s at 0 % loss: every frame sent is in the file (± 1), tracks end together (≤ 20 ms), no audio gap > 25 ms, RTP-exact timing, clean structure', async () => {
    await recordAndJudge('clean60', 60, 0, (s, v, short) => {
      const msg = `${describeVerdict(v)}; sent ${JSON.stringify(s.sent)}; sender audio short by ${short.toFixed(0)} ms`;
      expect(s.json.stopReason).toBe('peer-left');
      expect(s.json.path).toBe(s.out);
      expect(existsSync(`${s.out}.part`)).toBe(false);
      expect(s.json.video).toMatchObject({ codec: 'VP8', width: 320, height: 240 });
      const { video, audio } = v.timeline;
      expect(video?.codec).toBe('vp8');
      expect(audio?.codec).toBe('opus');
      expect(Math.abs(video!.frames - s.sent.framesSent), msg).toBeLessThanOrEqual(1);
      expect(Math.abs(audio!.frames - s.sent.audioPacketsSent), msg).toBeLessThanOrEqual(1);
      expect(video!.frames).toBe(s.json.video!.frames);
      expect(audio!.frames).toBe(s.json.audio!.frames);
      expect(video!.firstIsKeyframe, msg).toBe(true);
      // Signed: audio ends `short` before video (MAX_SENDER_AUDIO_SHORT_MS), and never after it.
      expect(Math.abs(video!.endMs - audio!.endMs - short), msg).toBeLessThanOrEqual(20 + slackFor(short));
      expect(audio!.maxGapMs, msg).toBeLessThanOrEqual(25);
      // No drift between the tracks: their spans agree within one video + one audio frame (the sender's capture
      // phases at start and stop). A 1 % fast video timeline would be 600 ms short here. (The exact-RTP-clock test with
      // fractional-millisecond frame steps is in record.system.test.ts: Chromium's steps are whole milliseconds.)
      expect(Math.abs(video!.lastMs - video!.firstMs - (audio!.lastMs - audio!.firstMs) - short), msg).toBeLessThanOrEqual(1000 / FPS + 20 + slackFor(short));
      expect(v.timeline.video!.keyframes, msg).toBeGreaterThanOrEqual(10); // a keyframe requested every 4 s
      expectCleanFile(v);
      expect(ffmpegDecodes(s.out).ok).toBe(true);
    });
  }, 300_000);

  it('30 s with 5 % random packet loss (both ways): ≥ 95 % of the frames sent, tracks end together, clean structure', async () => {
    await recordAndJudge('lossy', 30, 5, (s, v, short) => {
      const msg = `${describeVerdict(v)}; sent ${JSON.stringify(s.sent)}; sender audio short by ${short.toFixed(0)} ms; result ${JSON.stringify(s.json)}`;
      const { video, audio } = v.timeline;
      expect(video!.frames, msg).toBeGreaterThanOrEqual(0.95 * s.sent.framesSent);
      expect(video!.frames, msg).toBeLessThanOrEqual(s.sent.framesSent + 1);
      expect(audio!.frames, msg).toBeGreaterThan(0.85 * s.sent.audioPacketsSent); // Opus is not retransmitted
      expect(video!.firstIsKeyframe, msg).toBe(true);
      // Opus is not retransmitted: the last audio packet is lost in ~5 % of runs at 5 % loss, and audio then ends one
      // 20 ms frame early (seen: 36 ms). Two frames lost at the very end (~0.25 % of runs) would still fail.
      // Signed: audio ends `short` before video (MAX_SENDER_AUDIO_SHORT_MS), and never after it.
      expect(Math.abs(video!.endMs - audio!.endMs - short), msg).toBeLessThanOrEqual(20 + 20 + slackFor(short));
      expect(s.sent.nacks, msg).toBeGreaterThan(10); // the loss was real: the recorder asked for retransmissions
      expectCleanFile(v);
      const dec = ffmpegDecodes(s.out);
      expect(dec.ok, dec.stderr).toBe(true);
    });
  }, 240_000);

  it('kill -9 mid-recording leaves <out>.part that ffmpeg decodes to its last frame, and no <out>', async () => {
    const { page, room } = await openPage();
    const out = join(ns.dir, 'killed.webm');
    const child = record(room, out);
    const done = collect(child, { timeoutMs: 90_000 });
    const progress = await waitForJsonLine<{ event?: string; videoFrames?: number }>(child, (o) => o.event === 'progress' && (o.videoFrames ?? 0) >= 60, 60_000);
    child.kill('SIGKILL');
    const r = await done;
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    const part = `${out}.part`;
    expect(statSync(part).size).toBeGreaterThan(1000);
    const dec = ffmpegDecodes(part);
    expect(dec.ok, dec.stderr).toBe(true);
    // Every frame is written when muxed: the .part holds at least what the last progress event counted.
    expect(probeFrames(part).video!.frames).toBeGreaterThanOrEqual(progress.videoFrames!);
    await page.close();
  }, 120_000);

  it('stops on SIGINT and finalizes the file (exit 0, duration, cues, sizes)', async () => {
    const { page, room } = await openPage();
    const out = join(ns.dir, 'sigint.webm');
    const child = record(room, out);
    const done = collect(child, { timeoutMs: 90_000 });
    await waitForJsonLine<{ event?: string; videoFrames?: number }>(child, (o) => o.event === 'progress' && (o.videoFrames ?? 0) >= 30, 60_000);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout).stopReason).toBe('interrupted');
    expect(existsSync(`${out}.part`)).toBe(false);
    const v = judgeRecording(out);
    expectCleanFile(v);
    expect(probeFrames(out).durationSeconds).toBeGreaterThan(0.5);
    await page.close();
  }, 120_000);

  it('--duration cuts both tracks at that much media', async () => {
    const { page, room } = await openPage();
    const out = join(ns.dir, 'duration.webm');
    const r = await collect(record(room, out, ['--duration', '4']), { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    expect(res.stopReason).toBe('duration');
    const v = judgeRecording(out);
    expect(v.timeline.video!.lastMs).toBeLessThan(4000);
    expect(v.timeline.audio!.lastMs).toBeLessThan(4000);
    expect(res.durationSeconds).toBeGreaterThan(3.9);
    expect(res.durationSeconds).toBeLessThanOrEqual(4.1);
    expectCleanFile(v);
    await page.close();
  }, 120_000);

  it('a peer that sends no media → exit 1 RTC_ERR_NO_MEDIA within --timeout', async () => {
    const { page, room } = await openPage(undefined, '&video=0&audio=0');
    const out = join(ns.dir, 'nothing.webm');
    const r = await collect(ns.spawnCli(['record', '--room', room, out, '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json', '--timeout', '4']), { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('RTC_ERR_NO_MEDIA');
    expect(existsSync(out)).toBe(false);
    await page.close();
  }, 90_000);
});

/** The recorder is in the room (so the page, joining later, makes the offer). Needs -v: a debug line on stderr. */
function waitingForPeer(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the recorder never waited for a peer: ${err.slice(-1000)}`)), 30_000);
    const onData = (d: Buffer): void => {
      err += d.toString();
      if (err.includes('waiting-for-peer')) {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        resolve();
      }
    };
    child.stderr.on('data', onData);
  });
}

/** Make the page offer H.264 only (it offers, because it joins the room after the recorder). */
const H264_ONLY = `
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (...args) {
    const t = add.apply(this, args);
    if (t.receiver.track.kind === 'video') {
      t.setCodecPreferences(RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || '')));
    }
    return t;
  };`;

describe('record H.264 from Chromium', () => {
  it('into .mkv: Matroska with V_MPEG4/ISO/AVC that decodes; into .webm: refused with RTC_ERR_BAD_OUTPUT naming .mkv', async () => {
    const room = `h264-${Date.now()}`;
    const mkv = join(ns.dir, 'h264.mkv');
    const child = record(room, mkv, ['--duration', '4', '-v']);
    const done = collect(child, { timeoutMs: 90_000 });
    await waitingForPeer(child);
    const { page } = await openPage(room, '', H264_ONLY);
    const r = await done;
    await page.close();
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    expect(res.container).toBe('matroska');
    expect(res.video?.codec).toBe('H264');
    expect(res.video).toMatchObject({ width: 320, height: 240 });
    const v = judgeRecording(mkv);
    expect(v.structure.docType).toBe('matroska');
    expect(v.timeline.video?.codec).toBe('h264');
    expect(v.timeline.video!.firstIsKeyframe).toBe(true);
    expectCleanFile(v);
    const dec = ffmpegDecodes(mkv);
    expect(dec.ok, dec.stderr).toBe(true);

    const room2 = `h264w-${Date.now()}`;
    const webm = join(ns.dir, 'h264.webm');
    const child2 = record(room2, webm, ['-v']);
    const done2 = collect(child2, { timeoutMs: 90_000 });
    await waitingForPeer(child2);
    const { page: page2 } = await openPage(room2, '', H264_ONLY);
    const r2 = await done2;
    await page2.close();
    expect(r2.code).toBe(2);
    const err = JSON.parse(r2.stdout.trim().split('\n').at(-1)!) as { error: { code: string; message: string; hint: string } };
    expect(err.error.code).toBe('RTC_ERR_BAD_OUTPUT');
    expect(err.error.message).toMatch(/H\.264/);
    expect(err.error.hint).toMatch(/\.mkv/);
    expect(existsSync(webm)).toBe(false);
    expect(existsSync(`${webm}.part`)).toBe(false);
  }, 180_000);
});
