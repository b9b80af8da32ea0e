/**
 * send-file / recv-file against aiortc 1.4 (a client written from docs/signaling-protocol.md, peer-signaling.md and
 * file-transfer-protocol.md alone), both directions, both join orders (the later joiner offers), with a signaling
 * server and in manual mode. Byte-exact: the SHA-256 of what lands on disk is compared with the source's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { finished, startInteropLab, type InteropLab } from '../helpers/aiortc.js';
import { waitForJsonLine } from '../helpers/cli.js';

let lab: InteropLab;
let n = 0;
const room = (): string => `files-${++n}-${Date.now()}`;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  lab = await startInteropLab(['aiortc']);
}, 60_000);
afterAll(() => lab?.destroy());

/** Two files: one of several chunks with an odd tail, one of a single byte. */
function sources(tag: string): { path: string; name: string; data: Buffer }[] {
  const dir = join(lab.ns.dir, `src-${tag}`);
  mkdirSync(dir);
  return [
    { name: `big-${tag}.bin`, data: randomBytes(700 * 1024 + 13) },
    { name: `one-${tag}.txt`, data: Buffer.from('x') },
  ].map((f) => {
    const path = join(dir, f.name);
    writeFileSync(path, f.data);
    return { ...f, path };
  });
}

describe('file transfer with aiortc', () => {
  it('aiortc sends to recv-file (recv-file waits first, aiortc offers): byte-exact, SHA-256 verified on both sides', async () => {
    const r = room();
    const files = sources('a2c');
    const out = join(lab.ns.dir, 'out-a2c');
    mkdirSync(out);
    const recv = lab.cli(['recv-file', '--room', r, '--out', out, '--timeout', '30']);
    const recvDone = finished(recv);
    await waitForJsonLine(recv, (o) => o.event === 'waiting-for-peer');
    const peer = lab.peer('aiortc', ['send-file', '--room', r, ...files.map((f) => f.path)]);
    const sent = await peer.result();
    const got = await recvDone;
    expect(got.code, got.stderr).toBe(0);
    expect(sent.role).toBe('offerer');
    // recv-file hung up first, as the protocol says, and aiortc saw it.
    expect(sent.receiverHungUp).toBe(true);
    const result = got.json.at(-1) as { files: { name: string; sha256: string; size: number; path: string }[] };
    expect(result.files.map((f) => f.name)).toEqual(files.map((f) => f.name));
    for (const [i, f] of files.entries()) {
      const onDisk = readFileSync(join(out, f.name));
      expect(onDisk.equals(f.data)).toBe(true);
      expect(result.files[i]!.sha256).toBe(sha(f.data));
      // `savedAs` in ack is the bare name in the output directory (docs/file-transfer-protocol.md).
      expect((sent.files as { savedAs: string }[])[i]!.savedAs).toBe(f.name);
    }
    expect(existsSync(join(out, `${files[0]!.name}.part`))).toBe(false);
  }, 90_000);

  it('send-file sends to aiortc (aiortc waits first, send-file offers): byte-exact', async () => {
    const r = room();
    const files = sources('c2a');
    const out = join(lab.ns.dir, 'out-c2a');
    mkdirSync(out);
    const peer = lab.peer('aiortc', ['recv-file', '--room', r, '--out', out]);
    await peer.waitFor((e) => e.event === 'waiting-for-peer');
    const send = await finished(lab.cli(['send-file', '--room', r, '--timeout', '30', ...files.map((f) => f.path)]));
    const got = await peer.result();
    expect(send.code, send.stderr).toBe(0);
    expect(got.role).toBe('answerer');
    expect(got.announced).toBe(files.length);
    for (const f of files) expect(readFileSync(join(out, f.name)).equals(f.data)).toBe(true);
    const result = send.json.at(-1) as { files: { sha256: string }[]; path: string };
    expect(result.files.map((f) => f.sha256)).toEqual(files.map((f) => sha(f.data)));
    expect(result.path).toBe('direct');
  }, 90_000);

  it('manual mode: send-file --manual prints an rtc1 offer line, aiortc answers with a line pasted back', async () => {
    const files = sources('man');
    const out = join(lab.ns.dir, 'out-man');
    mkdirSync(out);
    const send = lab.cli(['send-file', '--manual', '--timeout', '30', ...files.map((f) => f.path)]);
    const sendDone = finished(send);
    // With --json the line comes as an event; `manual-waiting` says what is expected next.
    const offer = await waitForJsonLine<{ event: string; line: string }>(send, (o) => o.event === 'manual-offer');
    expect(offer.line).toMatch(/^rtc1\.offer\.[A-Za-z0-9_-]+$/);
    const peer = lab.peer('aiortc', ['recv-file', '--manual', '--role', 'answerer', '--out', out]);
    peer.writeLine(offer.line);
    const answer = await peer.waitFor((e) => e.event === 'manual-line');
    send.stdin.write(`${answer.line as string}\n`);
    const got = await peer.result();
    const s = await sendDone;
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.some((o) => o.event === 'manual-waiting' && o.expect === 'answer')).toBe(true);
    for (const f of files) expect(readFileSync(join(out, f.name)).equals(f.data)).toBe(true);
    expect(got.announced).toBe(files.length);
  }, 90_000);
});
