/**
 * Names a sender should not get onto the receiver's disk, end to end: the real send-file announces them with --name
 * (any string can be announced that way), the real recv-file judges them. Loopback only. The rules themselves are unit
 * tested in transfer-names.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  collect,
  failedResult,
  peerFlags,
  peerTestBed,
  spawnCli,
  transferResult,
  uniqueRoom,
  type CliResult,
} from '../helpers/peer.js';

const bed = peerTestBed('rtc-names-');
const { sub } = bed;

let payload: string;

beforeAll(() => {
  payload = join(bed.dir, 'payload.bin');
  writeFileSync(payload, 'payload');
});

/** send-file announces each of `names` (all carrying the same payload); recv-file gets them into `out`. */
async function sendNames(names: string[], out: string, recvFlags: string[] = []): Promise<{ recv: CliResult; send: CliResult }> {
  const room = uniqueRoom('names');
  const recvDone = collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', out, ...recvFlags]), { timeoutMs: 90_000 });
  const args = ['send-file', ...peerFlags(bed.server.signalUrl, room)];
  for (const n of names) args.push('--name', n);
  for (let i = 0; i < names.length; i++) args.push(payload);
  const send = await collect(spawnCli(args), { timeoutMs: 90_000 });
  return { recv: await recvDone, send };
}

describe('recv-file refuses names that disguise or hide a file, one file at a time', () => {
  it('refuses dotfiles by default, bidi overrides and invisible characters, and saves the rest', async () => {
    const out = sub('disguise');
    const names = ['.bash_profile', 'invoice\u202Efdp.exe', 'pay\u200Bpal.pdf', 'line\u2028break.txt', 'plain.txt'];
    const { recv, send } = await sendNames(names, out);
    expect(recv.code, recv.stderr).toBe(1);
    expect(send.code, send.stderr).toBe(1);
    const res = failedResult(recv);
    expect(res.failed.map((f) => [f.index, f.code])).toEqual([0, 1, 2, 3].map((i) => [i, 'RTC_ERR_UNSAFE_NAME']));
    expect(res.failed[0]!.message).toMatch(/dotfile.*--allow-dotfiles/);
    expect(res.failed[1]!.message).toMatch(/U\+202E.*bidirectional/);
    expect(res.failed[1]!.name).toBe('invoice<U+202E>fdp.exe');
    expect(res.files.map((f) => f.name)).toEqual(['plain.txt']);
    expect(readdirSync(out)).toEqual(['plain.txt']);
    // The sender hears why, per file.
    expect(failedResult(send).failed.map((f) => f.code)).toEqual(Array(4).fill('RTC_ERR_UNSAFE_NAME'));
  }, 120_000);

  it('takes dotfiles with --allow-dotfiles, but --force never replaces one', async () => {
    const out = sub('dotfiles');
    writeFileSync(join(out, '.bashrc'), 'the user\'s shell setup');
    writeFileSync(join(out, 'notes.txt'), 'old notes');
    const { recv } = await sendNames(['.bashrc', 'notes.txt', '.profile'], out, ['--allow-dotfiles', '--force']);
    expect(recv.code, recv.stderr).toBe(0);
    const res = transferResult(recv);
    expect(res.files.map((f) => f.name)).toEqual(['.bashrc (1)', 'notes.txt', '.profile']);
    expect(readFileSync(join(out, '.bashrc'), 'utf8')).toBe('the user\'s shell setup');
    expect(readFileSync(join(out, '.bashrc (1)'), 'utf8')).toBe('payload');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('payload'); // --force still replaces ordinary files
    expect(readdirSync(out).sort()).toEqual(['.bashrc', '.bashrc (1)', '.profile', 'notes.txt']);
  }, 120_000);

  it('normalises to NFC: a decomposed résumé.pdf does not land beside the user\'s identical-looking one', async () => {
    const out = sub('nfc');
    writeFileSync(join(out, 'résumé.pdf'), 'the user\'s CV');
    writeFileSync(join(out, 'cafe\u0301.txt'), 'a decomposed name the user already has');
    const { recv } = await sendNames(['re\u0301sume\u0301.pdf', 'café.txt'], out);
    expect(recv.code, recv.stderr).toBe(0);
    const [cv, cafe] = transferResult(recv).files;
    expect(cv!.name).toBe('résumé (1).pdf');
    expect(cv!.requestedName).toBe('re\u0301sume\u0301.pdf');
    expect(cafe!.name).toBe('café (1).txt'); // the user's NFD "café.txt" counts as taken
    expect(readdirSync(out).sort()).toEqual(['cafe\u0301.txt', 'café (1).txt', 'résumé (1).pdf', 'résumé.pdf'].sort());
    expect(readFileSync(join(out, 'résumé.pdf'), 'utf8')).toBe('the user\'s CV');
  }, 120_000);

  it('saves a 255-byte name, and refuses longer ones for that file only', async () => {
    const out = sub('long');
    const max = `${'é'.repeat(125)}.bin`; // 254 bytes: its partial file name must not push it over NAME_MAX
    const max255 = `${'n'.repeat(251)}.bin`;
    const over = `${'é'.repeat(128)}.bin`; // 260 bytes
    const { recv } = await sendNames([max, max255, over, 'after.txt'], out);
    expect(recv.code, recv.stderr).toBe(1);
    const res = failedResult(recv);
    expect(res.files.map((f) => f.name)).toEqual([max, max255, 'after.txt']);
    expect(res.failed).toMatchObject([{ index: 2, code: 'RTC_ERR_UNSAFE_NAME', message: expect.stringMatching(/too long for the file system \(260 bytes/) }]);
    expect(readdirSync(out).sort()).toEqual([max, 'after.txt', max255].sort());
    expect(readFileSync(join(out, max255), 'utf8')).toBe('payload');
  }, 120_000);
});
