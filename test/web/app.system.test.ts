/**
 * The companion page in real Chromium (fake camera + microphone), served by the real `rtc-cli serve`, talking to the
 * real `rtc-cli record`/`publish` bins, all inside a network namespace this file creates (browser-netns.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { collect } from '../helpers/cli.js';
import { createNetns, ffmpegDecodes, probeFrames, startServeInNetns, type Netns } from '../helpers/browser-netns.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
let ns: Netns;
let serve: Awaited<ReturnType<typeof startServeInNetns>>;
let browser: Browser;

beforeAll(async () => {
  ns = createNetns('page');
  serve = await startServeInNetns(ns);
  browser = await ns.launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 90_000);

afterAll(() => {
  ns?.destroy();
});

async function open(query: string, init?: string): Promise<Page> {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 1000 } });
  if (init) await page.addInitScript(init);
  await page.goto(`${serve.pageUrl}${query}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return page;
}

describe('companion page: capture', () => {
  it('applies constraints from URL parameters and shows track.getSettings()', async () => {
    const page = await open('?autostart=1&width=320&height=240&frameRate=15&echoCancellation=false&noiseSuppression=false');
    const s = await page.evaluate(() => {
      const cam = (window as unknown as { rtcPage: { camera: MediaStream } }).rtcPage.camera;
      return { v: cam.getVideoTracks()[0]!.getSettings(), a: cam.getAudioTracks()[0]!.getSettings() };
    });
    expect(s.v.width).toBe(320);
    expect(s.v.height).toBe(240);
    expect(s.v.frameRate).toBe(15);
    expect(s.a.echoCancellation).toBe(false);
    expect(s.a.noiseSuppression).toBe(false);
    // The page shows what it got, not what it asked for.
    const shown = await page.textContent('#settings');
    expect(shown).toContain('"width": 320');
    expect(shown).toContain('"echoCancellation": false');
    await page.close();
  }, 60_000);

  it('snapshot downloads a PNG of the preview; MediaRecorder downloads a WebM that decodes', async () => {
    const page = await open('?autostart=1&width=320&height=240&filter=grayscale(1)');
    await page.waitForFunction(() => (document.getElementById('local') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 20_000 });
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#snapshot')]);
    expect(png.suggestedFilename()).toMatch(/^snapshot-.*\.png$/);
    const bytes = readFileSync((await png.path())!);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a'); // PNG signature
    expect(bytes.readUInt32BE(16)).toBe(320); // IHDR width
    expect(bytes.readUInt32BE(20)).toBe(240);

    await page.click('#rec-start');
    await page.waitForFunction(() => document.getElementById('rec-elapsed')!.textContent === '0:02', undefined, { timeout: 20_000 });
    const [webm] = await Promise.all([page.waitForEvent('download'), page.click('#rec-stop')]);
    expect(webm.suggestedFilename()).toMatch(/^recording-.*\.webm$/);
    const file = join(ns.dir, 'local-recording.webm');
    await webm.saveAs(file);
    expect(readFileSync(file).readUInt32BE(0)).toBe(0x1a45dfa3); // EBML magic
    expect(ffmpegDecodes(file).ok).toBe(true);
    const p = probeFrames(file);
    expect(p.video!.frames).toBeGreaterThan(20);
    expect(p.audio).toBeDefined();
    expect(await page.textContent('#rec-link')).toContain('download recording');
    await page.close();
  }, 60_000);

  it('explains a denied permission and a missing device instead of failing silently', async () => {
    for (const [name, expected] of [
      ['NotAllowedError', /denied/],
      ['NotFoundError', /No camera and microphone was found/],
    ] as const) {
      const page = await open(
        '?autostart=1',
        `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('test', '${name}'));`,
      );
      await page.waitForSelector('#notice:not([hidden])', { timeout: 10_000 });
      expect(await page.textContent('#notice')).toMatch(expected);
      await page.close();
    }
  }, 60_000);
});

describe('companion page ⇄ CLI peers', () => {
  it('chat round trip with `rtc-cli record --chat`, and the stats panel shows a send bitrate', async () => {
    const room = `chat-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&width=640&height=480`);
    const rec = ns.spawnCli(['record', '--room', room, join(ns.dir, 'chat.webm'), '--chat', '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json', '--timeout', '30']);
    // Not collect(): it closes stdin, and stdin is the chat input here.
    let out = '';
    let err = '';
    rec.stdout.on('data', (d: Buffer) => (out += d.toString()));
    rec.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<{ code: number | null }>((resolve) => rec.on('close', (code) => resolve({ code })));
    await page.waitForSelector('#chat-send:not([disabled])', { timeout: 30_000 });
    await page.fill('#chat-input', 'hello from the page');
    await page.click('#chat-send');
    await expect.poll(() => out, { timeout: 20_000 }).toContain('{"event":"chat","text":"hello from the page"}');
    rec.stdin.write('hello from the cli\n');
    await page.waitForFunction(() => [...document.querySelectorAll('#chat-log li')].some((li) => li.textContent?.includes('hello from the cli')), undefined, { timeout: 20_000 });

    // Stats are sampled every second from getStats(): a bitrate in kbps and the direct path.
    await page.waitForFunction(() => /^\d+ kbps$/.test(document.querySelector('[data-stat="send-bitrate"]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const kbps = Number((await page.textContent('[data-stat="send-bitrate"]'))!.split(' ')[0]);
    expect(kbps).toBeGreaterThan(0);
    expect(await page.textContent('[data-stat="path"]')).toContain('direct');
    await page.screenshot({ path: join(ARTIFACTS, 'companion-page-recording.png'), fullPage: true });

    rec.kill('SIGINT');
    const r = await done;
    expect(r.code, err).toBe(0);
    const res = JSON.parse(out.trim().split('\n').at(-1)!) as { chat: { sent: number; received: number } };
    expect(res.chat).toEqual({ sent: 1, received: 1 });
    await page.close();
  }, 120_000);

  it('screen sharing replaces the sent track without renegotiating; the recording survives the switches', async () => {
    const room = `screen-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&width=320&height=240`);
    const out = join(ns.dir, 'screen.webm');
    const rec = collect(ns.spawnCli(['record', '--room', room, out, '--video-only', '--duration', '7', '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json']), { timeoutMs: 60_000 });
    await page.waitForSelector('.conn-state[data-state="connected"]', { timeout: 30_000 });
    type PageState = { rtcPage: { screenTrack: MediaStreamTrack | null; camera: MediaStream; conns: Map<string, { pc: RTCPeerConnection; videoTx: RTCRtpTransceiver }> } };
    const sent = (): Promise<{ label: string | undefined; isScreen: boolean; signaling: string }> =>
      page.evaluate(() => {
        const st = (window as unknown as PageState).rtcPage;
        const c = [...st.conns.values()][0]!;
        return { label: c.videoTx.sender.track?.label, isScreen: c.videoTx.sender.track === st.screenTrack, signaling: c.pc.signalingState };
      });
    const logBefore = await page.textContent('#log');
    await page.click('#screen');
    await page.waitForFunction(() => document.getElementById('source')!.textContent === 'screen', undefined, { timeout: 10_000 });
    expect(await sent()).toMatchObject({ isScreen: true, signaling: 'stable' });
    await new Promise((r) => setTimeout(r, 1500));
    await page.click('#screen'); // stop sharing: back to the camera
    await page.waitForFunction(() => document.getElementById('source')!.textContent === 'camera', undefined, { timeout: 10_000 });
    expect((await sent()).isScreen).toBe(false);
    // No new offer or answer went out: the switch was replaceTrack() only.
    const logAfter = (await page.textContent('#log'))!.slice(logBefore!.length);
    expect(logAfter).not.toMatch(/sent offer|answered/);
    const r = await rec;
    expect(r.code, r.stderr).toBe(0);
    expect(ffmpegDecodes(out).ok).toBe(true);
    expect(probeFrames(out).video!.frames).toBeGreaterThan(60);
    await page.close();
  }, 90_000);

  it('a canvas effect is really sent: record sees the inverted camera (magenta instead of green)', async () => {
    const room = `fx-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&audio=0&effect=invert&filter=blur(3px)`);
    const out = join(ns.dir, 'effect.webm');
    const r = await collect(ns.spawnCli(['record', '--room', room, out, '--video-only', '--duration', '3', '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json']), { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    // The fake camera is mostly green; averaged to one pixel, the inverted picture is mostly magenta.
    const { execFileSync } = await import('node:child_process');
    const px = execFileSync('ffmpeg', ['-v', 'error', '-ss', '1.5', '-i', out, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    const [red, green, blue] = [px[0]!, px[1]!, px[2]!];
    expect(red).toBeGreaterThan(green);
    expect(blue).toBeGreaterThan(green);
    // The CSS filter is preview-only: the local <video> has it, the sent track does not (checked above).
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('local')!).filter)).toBe('blur(3px)');
    await page.close();
  }, 90_000);

  it('`rtc-cli publish testsrc` → Chromium decodes it (framesDecoded grows, 640x480)', async () => {
    const room = `pub-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&video=0&audio=0`);
    const pub = ns.spawnCli(['publish', '--room', room, 'testsrc', '--loop', '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json', '--timeout', '30']);
    const done = collect(pub, { timeoutMs: 90_000 });
    const decoded = (): Promise<number> =>
      page.evaluate(() => {
        const stats = Object.values((window as unknown as { rtcPage: { lastStats: Record<string, { recv: { framesDecoded?: number } }> } }).rtcPage.lastStats);
        return stats[0]?.recv.framesDecoded ?? 0;
      });
    await page.waitForFunction(() => (document.querySelector('video.remote') as HTMLVideoElement | null)?.videoWidth === 640, undefined, { timeout: 30_000 });
    const first = await decoded();
    await new Promise((r) => setTimeout(r, 2500));
    const second = await decoded();
    expect(second).toBeGreaterThan(first);
    expect(second - first).toBeGreaterThan(20); // ~30 fps for 2.5 s, with room for a loaded machine
    await page.screenshot({ path: join(ARTIFACTS, 'companion-page-publish.png'), fullPage: true });
    pub.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { video: { framesSent: number }; stopReason: string };
    expect(res.stopReason).toBe('interrupted');
    expect(res.video.framesSent).toBeGreaterThan(60);
    await page.close();
  }, 120_000);
});
