/**
 * The companion page's Files section in real Chromium against the real `rtc-cli send-file`/`recv-file` bins and the
 * real `rtc-cli serve`, all inside a network namespace this file creates (test/helpers/browser-netns.ts): a 50 MiB
 * file of random bytes both ways, in a room and with a short code (docs/peer-auth.md: SPAKE2 and sealed signaling,
 * run by the page on the noble modules serve hands it), byte-exact by SHA-256; a wrong code failing on both sides;
 * and a hostile sender (test/helpers/hostile-sender.ts) whose file does not match its hash, whose name hides its
 * extension and whose last message is malformed: the page says so, offers no download and keeps nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, closeSync, readFileSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Download, Page } from 'playwright-core';
import { collect, waitForJsonLine, type CliResult } from '../helpers/cli.js';
import type { Step } from '../helpers/hostile-sender.js';
import { createNetns, startServeInNetns, type Netns } from '../helpers/browser-netns.js';
import { EVEN_WORDS } from '../../src/rtc/auth/wordlist.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIG = 50 * 1024 * 1024;

let ns: Netns;
let serve: Awaited<ReturnType<typeof startServeInNetns>>;
let browser: Browser;
let big: { path: string; sha256: string };

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** `bytes` random bytes in a file; returns its SHA-256. */
function randomFile(path: string, bytes: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 1 << 20));
    h.update(chunk);
    writeSync(fd, chunk);
    left -= chunk.length;
  }
  closeSync(fd);
  return h.digest('hex');
}

beforeAll(async () => {
  ns = createNetns('files');
  serve = await startServeInNetns(ns);
  browser = await ns.launchChromium();
  big = { path: join(ns.dir, 'big.bin'), sha256: '' };
  big.sha256 = randomFile(big.path, BIG);
}, 120_000);

afterAll(() => {
  ns?.destroy();
});

const CSP_WATCH = `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;

async function open(query = ''): Promise<Page> {
  const page = await browser.newPage({ acceptDownloads: true });
  await page.addInitScript(CSP_WATCH);
  await page.goto(`${serve.pageUrl}${query}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return page;
}

async function closePage(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
  await page.close();
}

/** The peer flags every CLI peer here needs: this namespace's server, candidates on its one address. */
function cli(args: string[]): ChildProcessWithoutNullStreams {
  return ns.spawnCli([...args, '--signal', serve.signalUrl, '--ice-address', ns.addr, '--json']);
}

function resultOf(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

type Transfer = { direction: string; name: string; size: number | null; bytes: number; status: string; message: string; sha256: string | null };
type FilesState = { transfers: Transfer[]; code: { code: string | null; status: string; error: string | null; running: boolean } | null };
const filesState = (page: Page): Promise<FilesState> =>
  page.evaluate(() => {
    const f = (window as unknown as { rtcPage: { files: FilesState } }).rtcPage.files;
    return JSON.parse(JSON.stringify({ transfers: f.transfers.map((t) => ({ ...t, li: undefined })), code: f.code })) as FilesState;
  });

/** Wait until the page has a transfer in a final state; return it. */
async function finalTransfer(page: Page, direction: 'send' | 'recv', timeout = 120_000): Promise<Transfer> {
  await page.waitForFunction(
    (dir) => (window as unknown as { rtcPage: { files: FilesState } }).rtcPage.files.transfers.some((t) => t.direction === dir && ['done', 'failed', 'refused'].includes(t.status)),
    direction,
    { timeout },
  );
  return (await filesState(page)).transfers.find((t) => t.direction === direction)!;
}

describe('the page and the CLI in a room', () => {
  it('page → `recv-file --room`: 50 MiB, byte-exact (the page waits for the receiver, then sends)', async () => {
    const room = `files-up-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&video=0&audio=0`);
    await page.setInputFiles('#file-pick', big.path);
    // Nobody in the room yet: the page waits and sends to the first peer whose file channel opens.
    await page.click('#files-send-room');
    expect(await page.textContent('#files-room-state')).toContain('waiting for a peer');
    const out = join(ns.dir, 'up');
    mkdirSync(out);
    // The room tests run the CLI on the native engine (node-datachannel), the code tests on werift: both against Chromium.
    const recv = await collect(cli(['recv-file', '--room', room, '--out', out, '--engine', 'native']), { timeoutMs: 180_000 });
    expect(recv.code, recv.stderr).toBe(0);
    expect(await sha256File(join(out, 'big.bin'))).toBe(big.sha256);
    const res = resultOf(recv) as { files: { sha256: string; size: number }[]; mbps: number; path: string; engine: string };
    expect(res.files).toMatchObject([{ sha256: big.sha256, size: BIG }]);
    expect(res.engine).toBe('native');
    expect(res.path).toBe('direct');
    const t = await finalTransfer(page, 'send');
    expect(t).toMatchObject({ status: 'done', bytes: BIG, sha256: big.sha256 });
    console.log(`page → recv-file: ${res.mbps} Mbit/s`);
    await closePage(page);
  }, 240_000);

  it('`send-file --room` → page: 50 MiB downloaded byte-exact (the page offers, with its media sections)', async () => {
    const room = `files-down-${Date.now()}`;
    const send = cli(['send-file', '--room', room, '--engine', 'native', big.path]);
    const sent = collect(send, { timeoutMs: 180_000 });
    await waitForJsonLine(send, (o) => o.event === 'waiting-for-peer', 30_000);
    const page = await open(`?room=${room}&autostart=1&video=0&audio=0`);
    const download: Download = await page.waitForEvent('download', { timeout: 150_000 });
    expect(download.suggestedFilename()).toBe('big.bin');
    const saved = join(ns.dir, 'down.bin');
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(big.sha256);
    const s = await sent;
    expect(s.code, s.stderr).toBe(0);
    const t = await finalTransfer(page, 'recv');
    expect(t).toMatchObject({ status: 'done', bytes: BIG, sha256: big.sha256, name: 'big.bin' });
    expect((resultOf(s) as { engine: string }).engine).toBe('native');
    console.log(`send-file → page: ${(resultOf(s) as { mbps: number }).mbps} Mbit/s`);
    await closePage(page);
  }, 240_000);
});

/** The code with its last word (a two-syllable one) swapped for another: still well-formed, but wrong. */
function wrongCode(code: string): string {
  const parts = code.split('-');
  parts[2] = EVEN_WORDS.find((w) => w !== parts[2])!;
  return parts.join('-');
}

describe('short codes (docs/peer-auth.md) between the page and the CLI', () => {
  it('the page makes a code; `recv-file CODE` receives 50 MiB byte-exact, authenticated', async () => {
    const page = await open();
    await page.setInputFiles('#file-pick', big.path);
    await page.click('#files-send-code');
    await page.waitForFunction(() => /^\d+-[a-z]+-[a-z]+$/.test(document.getElementById('files-code')!.textContent ?? ''), undefined, { timeout: 30_000 });
    const code = (await page.textContent('#files-code'))!;
    expect(await page.textContent('#files-code-hint')).toContain(`rtc-cli recv-file ${code}`);
    const out = join(ns.dir, 'code-up');
    mkdirSync(out);
    const recv = await collect(cli(['recv-file', code, '--out', out, '--engine', 'werift']), { timeoutMs: 180_000 });
    expect(recv.code, recv.stderr).toBe(0);
    expect(await sha256File(join(out, 'big.bin'))).toBe(big.sha256);
    const res = resultOf(recv) as { authenticated: boolean; files: { sha256: string }[]; engine: string };
    expect(res.authenticated).toBe(true);
    expect(res.engine).toBe('werift');
    expect(res.files).toMatchObject([{ sha256: big.sha256 }]);
    await page.waitForFunction(() => /^sent: 1 file\(s\) verified$/.test(document.getElementById('code-status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    expect((await finalTransfer(page, 'send')).status).toBe('done');
    await closePage(page);
  }, 240_000);

  it('`send-file` prints a code; the page types it and downloads 50 MiB byte-exact', async () => {
    const send = cli(['send-file', '--engine', 'werift', big.path]);
    const sent = collect(send, { timeoutMs: 180_000 });
    const { code } = await waitForJsonLine<{ event: string; code: string }>(send, (o) => o.event === 'code', 30_000);
    const page = await open();
    // Typed the way a person might: spaces, capitals.
    await page.fill('#code-input', `  ${code.replace(/-/g, ' ').toUpperCase()} `);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 150_000 }), page.click('#files-recv-code')]);
    const saved = join(ns.dir, 'code-down.bin');
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(big.sha256);
    const s = await sent;
    expect(s.code, s.stderr).toBe(0);
    expect(resultOf(s) as { authenticated: boolean; engine: string }).toMatchObject({ authenticated: true, engine: 'werift' });
    await page.waitForFunction(() => /^received: 1 file\(s\) verified$/.test(document.getElementById('code-status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    await closePage(page);
  }, 240_000);

  it('a wrong code fails on both sides with RTC_ERR_PEER_AUTH and a sentence that says so', async () => {
    // The page made the code; recv-file types a wrong one.
    const page = await open();
    await page.setInputFiles('#file-pick', join(ROOT, 'package.json'));
    await page.click('#files-send-code');
    await page.waitForFunction(() => /^\d+-/.test(document.getElementById('files-code')!.textContent ?? ''), undefined, { timeout: 30_000 });
    const code = (await page.textContent('#files-code'))!;
    const recv = await collect(cli(['recv-file', wrongCode(code), '--out', ns.dir]), { timeoutMs: 90_000 });
    expect(recv.code).toBe(1);
    expect(JSON.parse(recv.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/does not match/) } });
    await page.waitForFunction(() => /RTC_ERR_PEER_AUTH/.test(document.getElementById('code-status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    expect(await page.textContent('#code-status')).toMatch(/typed a different code.*used up/);
    expect((await filesState(page)).transfers).toEqual([]);
    await closePage(page);

    // send-file made the code; the page types a wrong one.
    const send = cli(['send-file', join(ROOT, 'package.json')]);
    const sent = collect(send, { timeoutMs: 90_000 });
    const made = await waitForJsonLine<{ event: string; code: string }>(send, (o) => o.event === 'code', 30_000);
    const page2 = await open();
    await page2.fill('#code-input', wrongCode(made.code));
    await page2.click('#files-recv-code');
    await page2.waitForFunction(() => /RTC_ERR_PEER_AUTH/.test(document.getElementById('code-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page2.textContent('#code-status')).toMatch(/does not match the one the sender made/);
    const s = await sent;
    expect(s.code).toBe(1);
    expect(JSON.parse(s.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/different code/) } });
    await closePage(page2);
  }, 180_000);

  it('a mistyped word is caught on the page before anything is sent', async () => {
    const page = await open();
    await page.fill('#code-input', '7-guitarist-revnge');
    await page.click('#files-recv-code');
    await page.waitForFunction(() => /RTC_ERR_USAGE/.test(document.getElementById('code-status')!.textContent ?? ''), undefined, { timeout: 10_000 });
    expect(await page.textContent('#code-status')).toMatch(/"revnge", is not in the word list \(did you mean "revenge"\?\)/);
    await closePage(page);
  }, 60_000);
});


/** test/helpers/hostile-sender.ts, a werift peer in its own process, inside the namespace (its candidates: 127.0.0.1). */
function hostileSender(room: string, steps: Step[]): ChildProcessWithoutNullStreams {
  const script = join(ns.dir, `hostile-${room}.json`);
  writeFileSync(script, JSON.stringify(steps));
  return spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', join(ROOT, 'test/helpers/hostile-sender.ts'), serve.signalUrl, room, script], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('a hostile sender (docs/file-transfer-protocol.md §Names from the network, §Integrity)', () => {
  it('a file that does not match its SHA-256 is deleted and never offered; a disguised name is refused; a malformed message ends the session', async () => {
    const room = `files-hostile-${Date.now()}`;
    const page = await open(`?room=${room}&autostart=1&video=0&audio=0`);
    let downloads = 0;
    page.on('download', () => downloads++);
    const evil = 'invoice\u202Efdp.exe';
    const child = hostileSender(room, [
      { send: { t: 'hello', v: 1, files: 3 } },
      // The header announces a SHA-256 the bytes do not have (its `end` carries the real one: the page must keep the header's).
      { file: { index: 0, name: 'report.pdf', content: 'not the report you were promised\n'.repeat(2000), announceSha256: 'ab'.repeat(32) } },
      // U+202E (right-to-left override) makes "invoice‮fdp.exe" read as "invoiceexe.pdf".
      { file: { index: 1, name: evil, content: 'MZ' } },
      { send: '{"t":"file","index":2,"name":' },
      { waitClose: 10_000 },
    ]);
    const r = await collect(child, { timeoutMs: 90_000 });
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; msg?: Record<string, unknown> });
    expect(events.map((e) => e.event), r.stderr).toContain('connected');
    const got = events.filter((e) => e.event === 'recv').map((e) => e.msg!);
    expect(got).toContainEqual(expect.objectContaining({ t: 'ack', index: 0, ok: false, code: 'RTC_ERR_HASH_MISMATCH' }));
    expect(got).toContainEqual(expect.objectContaining({ t: 'reject', index: 1, code: 'RTC_ERR_UNSAFE_NAME' }));
    expect(got).toContainEqual(expect.objectContaining({ t: 'error', code: 'RTC_ERR_PROTOCOL' }));

    await page.waitForFunction(() => (window as unknown as { rtcPage: { files: { sessions: { status?: string }[] } } }).rtcPage.files.sessions.some((s) => s.status === 'failed'), undefined, { timeout: 30_000 });
    const { transfers } = await filesState(page);
    expect(transfers).toHaveLength(2);
    const [bad, disguised] = [transfers.find((t) => t.name === 'report.pdf')!, transfers.find((t) => t.name !== 'report.pdf')!];
    expect(bad).toMatchObject({ status: 'failed', sha256: null });
    expect(bad.message).toMatch(/SHA-256 mismatch .* was deleted/);
    expect(disguised.status).toBe('refused');
    // The name is shown with the override spelled out, never applied.
    expect(disguised.name).toBe('invoice<U+202E>fdp.exe');
    expect(disguised.message).toContain('U+202E');
    const text = (await page.textContent('#transfers'))!;
    expect(text).toContain('SHA-256 mismatch');
    expect(text).not.toContain('\u202E');
    // No download was started or offered, and nothing was kept in the browser's storage.
    expect(downloads).toBe(0);
    expect(await page.locator('#transfers a.download:not([hidden])').count()).toBe(0);
    const kept = await page.evaluate(async () => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('rtc-cli-incoming', { create: true });
      const names: string[] = [];
      for await (const [dir, h] of (root as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }).entries()) {
        for await (const f of (h as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(`${dir}/${f}`);
      }
      return names;
    });
    expect(kept).toEqual([]);
    expect(await page.textContent('#log')).toMatch(/RTC_ERR_PROTOCOL/);
    await closePage(page);
  }, 150_000);
});

describe("the page's code cryptography against docs/peer-auth.md §Test vectors", () => {
  it('the worked example: w, pA, pB, Ke, cA, cB and the first sealed box, computed by the page modules in Chromium', async () => {
    const doc = readFileSync(join(ROOT, 'docs/peer-auth.md'), 'utf8');
    const page = await open();
    // A string, not a function: vitest would rewrite a function's import() into its own loader.
    const values = (await page.evaluate(`(async () => {
      const spake = await import('/auth/spake2.js');
      const { SealedChannel } = await import('/auth/sealed.js');
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const w = await spake.passwordScalar('7-guitarist-revenge');
      const a = new spake.Spake2('A', w, BigInt('0x' + '11'.repeat(32)));
      const b = new spake.Spake2('B', w, BigInt('0x' + '22'.repeat(32)));
      const ra = a.finish(b.share);
      const rb = b.finish(a.share);
      return {
        w: w.toString(16).padStart(64, '0'), pA: hex(a.share), pB: hex(b.share), Ke: hex(ra.ke), KeB: hex(rb.ke),
        cA: hex(ra.confirmation), cB: hex(rb.confirmation),
        verified: ra.verifyPeer(rb.confirmation) && rb.verifyPeer(ra.confirmation),
        wrongRejected: !ra.verifyPeer(ra.confirmation),
        sealed: JSON.stringify(await new SealedChannel(ra.ke, 'joiner').seal({ kind: 'bye' })),
      };
    })()`)) as Record<'w' | 'pA' | 'pB' | 'Ke' | 'KeB' | 'cA' | 'cB' | 'sealed', string> & { verified: boolean; wrongRejected: boolean };
    expect(values.KeB).toBe(values.Ke);
    expect(values.verified).toBe(true);
    expect(values.wrongRejected).toBe(true);
    for (const name of ['w', 'pA', 'pB', 'Ke', 'cA', 'cB'] as const) expect(doc, `${name} = ${values[name]}`).toContain(`${name} = ${values[name]}`);
    expect(doc).toContain(values.sealed);
    await closePage(page);
  }, 60_000);

  it('/vendor/ serves the noble ES modules with browser-resolvable imports, and nothing else of the packages', async () => {
    const page = await open();
    const probe = (path: string): Promise<{ status: number; body: string }> =>
      page.evaluate(async (p) => {
        const r = await fetch(p);
        return { status: r.status, body: await r.text() };
      }, path);
    const nist = await probe('/vendor/noble-curves/esm/nist.js');
    expect(nist.status).toBe(200);
    expect(nist.body).not.toMatch(/from\s*['"]@noble\//);
    expect(nist.body).toMatch(/from\s*['"]\.\.\/\.\.\/noble-hashes\/esm\/sha2\.js['"]/);
    for (const path of ['/vendor/noble-curves/package.json', '/vendor/noble-curves/esm/%2e%2e/package.json', '/vendor/noble-curves/src/nist.ts', '/vendor/noble-curves/', '/vendor/chalk/source/index.js', '/vendor/rtc-cli/../app.js'.replace('/../', '/%2e%2e/')]) {
      expect((await probe(path)).status, path).toBe(404);
    }
    await closePage(page);
  }, 60_000);
});
