/**
 * The companion page's security in real Chromium (inside a network namespace this file creates, see
 * test/helpers/browser-netns.ts), served by the real `rtc-cli serve`:
 * - a link with a foreign `signal` never autostarts: it shows where it would connect, and connects only on a click;
 * - the page's CSP lets it connect only to its own server and the origins `--allow-origin` lists;
 * - under the CSP the page works (camera, join, a call with `rtc-cli record`) without a single violation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { collect } from '../helpers/cli.js';
import { createNetns, startServeInNetns, type Netns } from '../helpers/browser-netns.js';

type Serve = Awaited<ReturnType<typeof startServeInNetns>>;

let ns: Netns;
let browser: Browser;

/** Every JSON line `serve --json` prints from now on. */
function logOf(child: ChildProcessWithoutNullStreams): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return lines;
}

const CSP_WATCH = `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;

async function open(serve: Serve, query: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(CSP_WATCH);
  await page.goto(`${serve.pageUrl}${query}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return page;
}
const violations = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

beforeAll(async () => {
  ns = createNetns('sec');
  browser = await ns.launchChromium();
}, 90_000);
afterAll(() => {
  ns?.destroy();
});

describe('a link that points the page at another signaling server', () => {
  it('never autostarts: shows the destination, captures nothing, connects nowhere until Join is clicked', async () => {
    // The "attacker": another serve (its own Origin check refuses our page, which makes the attempt visible in its log).
    const attacker = await startServeInNetns(ns);
    const attackerLog = logOf(attacker.child);
    // The victim's server trusts the attacker's origin, so only the page's own rule can stop the autostart.
    const victim = await startServeInNetns(ns, ['--allow-origin', `http://127.0.0.1:${attacker.port}`]);
    const target = `ws://127.0.0.1:${attacker.port}/ws`;
    const page = await open(victim, `?room=stolen&autostart=1&signal=${encodeURIComponent(target)}`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(attackerLog.filter((l) => l.event === 'connection' || l.event === 'forbidden')).toEqual([]);
    const notice = await page.textContent('#notice');
    expect(notice).toContain(target);
    expect(notice).toMatch(/Nothing was started/);
    expect(await page.textContent('#signal-state')).toContain(target);
    expect(await page.evaluate(() => (window as unknown as { rtcPage: { camera: unknown; sig: unknown } }).rtcPage.camera)).toBeNull();
    expect(await page.evaluate(() => (window as unknown as { rtcPage: { sig: unknown } }).rtcPage.sig)).toBeNull();

    // The user decides: Join connects there (and the attacker's serve refuses the page's origin).
    await page.click('#join');
    await expect.poll(() => attackerLog.find((l) => l.event === 'forbidden'), { timeout: 15_000 }).toMatchObject({
      reason: 'origin',
      value: `http://localhost:${victim.port}`,
    });
    expect(await violations(page)).toEqual([]);
    await page.close();
    attacker.child.kill('SIGKILL');
    victim.child.kill('SIGKILL');
  }, 90_000);

  it("the page's CSP stops a connection to an origin serve does not list, even after a click", async () => {
    const other = await startServeInNetns(ns);
    const otherLog = logOf(other.child);
    const victim = await startServeInNetns(ns);
    const page = await open(victim, `?room=x&signal=${encodeURIComponent(`ws://127.0.0.1:${other.port}/ws`)}`);
    await page.click('#join');
    await page.waitForSelector('#notice:not([hidden])', { timeout: 15_000 });
    expect(await page.textContent('#notice')).toMatch(/Could not join/);
    await expect.poll(() => violations(page), { timeout: 5000 }).toContainEqual(expect.stringMatching(/^connect-src ws:\/\/127\.0\.0\.1/));
    expect(otherLog.filter((l) => l.event === 'connection' || l.event === 'forbidden')).toEqual([]);
    await page.close();
    other.child.kill('SIGKILL');
    victim.child.kill('SIGKILL');
  }, 60_000);
});

describe('the page under its Content-Security-Policy', () => {
  it('camera, effect, join and a call with `rtc-cli record` work with no CSP violation', async () => {
    const serve = await startServeInNetns(ns);
    const room = `csp-${Date.now()}`;
    const page = await open(serve, `?room=${room}&autostart=1&width=320&height=240&effect=sepia`);
    const out = join(ns.dir, 'csp.webm');
    const rec = await collect(ns.spawnCli(['record', '--room', room, out, '--video-only', '--duration', '3', '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json']), {
      timeoutMs: 60_000,
    });
    expect(rec.code, rec.stderr).toBe(0);
    const res = JSON.parse(rec.stdout.trim().split('\n').at(-1)!) as { video: { frames: number } };
    expect(res.video.frames).toBeGreaterThan(10);
    await page.click('#snapshot');
    expect(await violations(page)).toEqual([]);
    // The headers are what the browser got (a reload, from inside the namespace).
    const headers = (await page.reload())!.headers();
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['permissions-policy']).toContain('camera=(self)');
    await page.close();
    serve.child.kill('SIGKILL');
  }, 90_000);
});
