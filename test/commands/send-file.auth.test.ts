/**
 * Short-code authentication end to end (docs/peer-auth.md): the real rtc-cli binary for both peers, a real signaling
 * server on loopback, real attackers: a sweeper (a WebSocket client that finds the nameplate room and speaks the code
 * exchange with a wrong password), a fake sender squatting a nameplate, and a hostile signaling relay that rewrites,
 * corrupts or replaces what it relays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/server.js';
import { SignalingClient } from '../../src/signaling/client.js';
import { Spake2, SPAKE2_SUITE } from '../../src/rtc/auth/spake2.js';
import { passwordScalar } from '../../src/rtc/auth/password.js';
import { PAKE_IDENTITIES } from '../../src/rtc/auth/handshake.js';
import { fromB64, toB64 } from '../../src/rtc/auth/messages.js';
import { EVEN_WORDS, ODD_WORDS } from '../../src/rtc/auth/wordlist.js';
import { waitForJsonLine } from '../helpers/cli.js';
import {
  collect,
  errorCode,
  jsonLines,
  peerFlags,
  randomFile,
  removeDir,
  resultOf,
  sha256File,
  spawnCli,
  startServer,
  tempDir,
  transferResult,
  uniqueRoom,
  type CliResult,
} from '../helpers/peer.js';
import { forgeFingerprint, startMitmRelay, type Tamper } from '../helpers/mitm-relay.js';

let server: SignalingServer;
let dir: string;
let n = 0;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir('rtc-auth-');
});

afterAll(async () => {
  await server?.close();
  if (dir) await removeDir(dir);
});

/** A fresh source file and an empty output directory. */
async function fixture(size = 200_000): Promise<{ file: string; hash: string; out: string }> {
  n += 1;
  const src = join(dir, `src-${n}`);
  const out = join(dir, `out-${n}`);
  mkdirSync(src);
  mkdirSync(out);
  const file = join(src, 'secret.bin');
  return { file, hash: await randomFile(file, size), out };
}

/** The flags of a code-mode peer: no --room, loopback only, JSON. */
function codeFlags(signal: string): string[] {
  return ['--signal', signal, '--ice-address', '127.0.0.1', '--json'];
}

interface CodeEvent {
  event: 'code';
  code: string;
  nameplate: number;
  room: string;
}

/** Start a code-mode send-file and wait for the code it prints. */
async function startSender(signal: string, file: string, extra: string[] = []): Promise<{ child: ChildProcessWithoutNullStreams; done: Promise<CliResult>; code: CodeEvent }> {
  const child = spawnCli(['send-file', ...codeFlags(signal), '--timeout', '30', ...extra, file]);
  const codeP = waitForJsonLine<CodeEvent>(child, (o) => o.event === 'code', 30_000);
  const done = collect(child, { timeoutMs: 90_000 });
  return { child, done, code: await codeP };
}

function receive(signal: string, code: string, out: string): Promise<CliResult> {
  return collect(spawnCli(['recv-file', code, ...codeFlags(signal), '--out', out, '--timeout', '30']), { timeoutMs: 90_000 });
}

/** The same nameplate with other words: a wrong code that still passes the local word checks. */
function wrongCode(code: string): string {
  const [plate, w1, w2] = code.split('-');
  const odd = ODD_WORDS.find((w) => w !== w1)!;
  const even = EVEN_WORDS.find((w) => w !== w2)!;
  return `${plate}-${odd}-${even}`;
}

function errorOf(r: CliResult): { code?: string; message?: string } {
  return (resultOf(r) as { error?: { code?: string; message?: string } }).error ?? {};
}

/** Both commands succeeded and the file arrived byte-exact. */
async function expectDelivered(s: CliResult, r: CliResult, out: string, hash: string): Promise<void> {
  expect(s.code, s.stderr).toBe(0);
  expect(r.code, r.stderr).toBe(0);
  expect(await sha256File(join(out, 'secret.bin'))).toBe(hash);
}

/** Kinds of the relayed payloads a test client received. */
function kinds(msgs: unknown[]): string[] {
  return msgs.map((m) => String((m as { kind?: unknown }).kind));
}

describe('a code authenticates both peers', () => {
  it('send-file prints a code, recv-file <code> gets the file byte-exact; the server relays only the exchange and sealed boxes', async () => {
    const { file, hash, out } = await fixture(300_000);
    const relay = await startMitmRelay(server.signalUrl, (d) => d); // records, changes nothing
    try {
      const send = await startSender(relay.signalUrl, file);
      expect(send.code.code).toMatch(/^\d{1,2}-[a-z]+-[a-z]+$/);
      expect(send.code.room).toBe(`rtc-cli-code-${send.code.nameplate}`);
      expect(send.code.code.startsWith(`${send.code.nameplate}-`)).toBe(true);
      const r = await receive(relay.signalUrl, send.code.code, out);
      const s = await send.done;
      await expectDelivered(s, r, out, hash);
      expect(transferResult(r).authenticated).toBe(true);
      expect(transferResult(s).authenticated).toBe(true);
      expect(jsonLines(s.stdout).map((o) => o.event)).toEqual(expect.arrayContaining(['code', 'authenticating', 'authenticated', 'connected']));
      // What the signaling server got to read: the three exchange messages and sealed boxes, nothing else.
      const seen = kinds(relay.seen);
      expect(seen.slice(0, 3)).toEqual(['auth-hello', 'auth-reply', 'auth-confirm']);
      expect(new Set(seen.slice(3))).toEqual(new Set(['sealed']));
      const text = JSON.stringify(relay.seen);
      for (const leak of ['v=0', 'a=fingerprint', 'candidate:', '127.0.0.1', ...send.code.code.split('-').slice(1)]) expect(text).not.toContain(leak);
    } finally {
      await relay.close();
    }
  }, 120_000);

  it('a wrong code fails on both sides with RTC_ERR_PEER_AUTH; the code is burned and the right code then fails clearly', async () => {
    const { file, out } = await fixture();
    const send = await startSender(server.signalUrl, file);
    const bad = await receive(server.signalUrl, wrongCode(send.code.code), out);
    const s = await send.done;
    expect(bad.code, bad.stderr).toBe(1);
    expect(s.code, s.stderr).toBe(1);
    expect(errorOf(bad)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/does not match/) });
    expect(errorOf(s)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/different code.*used up/) });
    expect(s.stderr).toContain('hint: start again with a new code');
    // The words never appear in an error (messages end up in logs).
    for (const w of send.code.code.split('-').slice(1)) expect(s.stderr + s.stdout).not.toContain(`"${w}`);
    const late = await receive(server.signalUrl, send.code.code, out);
    expect(late.code).toBe(1);
    expect(errorOf(late)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/nobody is waiting under nameplate .*already used/) });
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);
});

describe('room sweepers', () => {
  it('a sweeper that finds the room and runs the exchange with a wrong password gets no SDP, no candidate, no byte; the sender stops', async () => {
    const { file, out } = await fixture();
    const send = await startSender(server.signalUrl, file);
    const sweeper = await SignalingClient.connect({ url: server.signalUrl });
    const got: unknown[] = [];
    sweeper.on('message', (m) => got.push(m.data));
    try {
      const join = await sweeper.join(send.code.room);
      expect(join.peers).toHaveLength(1);
      const guess = new Spake2('A', await passwordScalar(wrongCode(send.code.code)), PAKE_IDENTITIES);
      sweeper.send({ kind: 'auth-hello', v: 1, suite: SPAKE2_SUITE, pA: toB64(guess.share) }, join.peers[0]);
      await until(() => got.length > 0, 20_000);
      const reply = got[0] as { kind: string; pB: string; cB: string };
      expect(reply.kind).toBe('auth-reply');
      const keys = guess.finish(fromB64(reply.pB, 65)!);
      expect(keys.verifyPeer(fromB64(reply.cB, 32)!)).toBe(false);
      // A sweeper would try its confirmation anyway.
      sweeper.send({ kind: 'auth-confirm', cA: toB64(keys.confirmation) }, join.peers[0]);
      const s = await send.done;
      expect(s.code, s.stderr).toBe(1);
      expect(errorCode(s)).toBe('RTC_ERR_PEER_AUTH');
      expect(kinds(got).every((k) => k === 'auth-reply' || k === 'auth-fail')).toBe(true);
      expect(JSON.stringify(got)).not.toMatch(/sealed|v=0|candidate/);
    } finally {
      await sweeper.close();
    }
    // And the real receiver, arriving after the sweeper burned the code, is told so.
    const late = await receive(server.signalUrl, send.code.code, out);
    expect(errorOf(late)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/already used/) });
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('a peer that offers without the code (an unauthenticated client) gets nothing and the sender stops', async () => {
    const { file } = await fixture();
    const send = await startSender(server.signalUrl, file);
    const intruder = await SignalingClient.connect({ url: server.signalUrl });
    const got: unknown[] = [];
    intruder.on('message', (m) => got.push(m.data));
    try {
      const join = await intruder.join(send.code.room);
      intruder.send({ kind: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' }, join.peers[0]);
      const s = await send.done;
      expect(s.code).toBe(1);
      expect(errorOf(s)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/unauthenticated offer/) });
      expect(got).toEqual([]);
    } finally {
      await intruder.close();
    }
  }, 120_000);

  it('a peer that only looks into the room and leaves does not burn the code', async () => {
    const { file, hash, out } = await fixture();
    const send = await startSender(server.signalUrl, file);
    const looker = await SignalingClient.connect({ url: server.signalUrl });
    await looker.join(send.code.room);
    await looker.leave();
    await looker.close();
    const r = await receive(server.signalUrl, send.code.code, out);
    const s = await send.done;
    await expectDelivered(s, r, out, hash);
  }, 120_000);

  it('a fake sender squatting a nameplate cannot make recv-file write anything', async () => {
    const { out } = await fixture();
    const plate = 9000 + Math.floor(Math.random() * 999);
    const code = `${plate}-${ODD_WORDS[3]}-${EVEN_WORDS[4]}`;
    const fake = await SignalingClient.connect({ url: server.signalUrl });
    const got: unknown[] = [];
    fake.on('message', (m) => {
      got.push(m.data);
      const d = m.data as { kind?: string; pA?: string };
      if (d.kind !== 'auth-hello') return;
      // It answers as a sender would, but with a password of its own.
      void passwordScalar(`${plate}-${ODD_WORDS[5]}-${EVEN_WORDS[6]}`).then((w) => {
        const b = new Spake2('B', w, PAKE_IDENTITIES);
        const k = b.finish(fromB64(d.pA, 65)!);
        fake.send({ kind: 'auth-reply', pB: toB64(b.share), cB: toB64(k.confirmation) }, m.from);
      });
    });
    try {
      await fake.join(`rtc-cli-code-${plate}`);
      const r = await receive(server.signalUrl, code, out);
      expect(r.code).toBe(1);
      expect(errorOf(r)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/does not match/) });
      expect(readdirSync(out)).toEqual([]);
      expect(kinds(got)).toEqual(['auth-hello', 'auth-fail']);
    } finally {
      await fake.close();
    }
  }, 120_000);
});

describe('a hostile signaling server', () => {
  /**
   * One transfer (a code, or a room) through a relay that tampers as `tamper` says; the relay is closed afterwards.
   * `extra` goes to both commands, or to each (`{ send, recv }`); `endedAt` is when each process had exited.
   */
  async function viaRelay(
    tamper: Tamper,
    codeMode: boolean,
    extra: string[] | { send: string[]; recv: string[] } = [],
  ): Promise<{ s: CliResult; r: CliResult; out: string; hash: string; endedAt: { s: number; r: number } }> {
    const relay = await startMitmRelay(server.signalUrl, tamper);
    const ended = async (p: Promise<CliResult>): Promise<[CliResult, number]> => [await p, Date.now()];
    try {
      const { file, hash, out } = await fixture();
      if (codeMode) {
        const send = await startSender(relay.signalUrl, file);
        const [r, rAt] = await ended(receive(relay.signalUrl, send.code.code, out));
        const [s, sAt] = await ended(send.done);
        return { s, r, out, hash, endedAt: { s: sAt, r: rAt } };
      }
      const { send: sendExtra, recv: recvExtra } = Array.isArray(extra) ? { send: extra, recv: extra } : extra;
      const room = uniqueRoom('mitm');
      const recvDone = ended(collect(spawnCli(['recv-file', ...peerFlags(relay.signalUrl, room), ...recvExtra, '--out', out, '--timeout', '20']), { timeoutMs: 90_000 }));
      const [s, sAt] = await ended(collect(spawnCli(['send-file', ...peerFlags(relay.signalUrl, room), ...sendExtra, '--timeout', '20', file]), { timeoutMs: 90_000 }));
      const [r, rAt] = await recvDone;
      return { s, r, out, hash, endedAt: { s: sAt, r: rAt } };
    } finally {
      await relay.close();
    }
  }

  // Why each side refuses (rtc-cli's `details.reason`). The answerer is the DTLS client (RFC 8842 §5: it picks
  // a=setup:active) and sees the server's certificate in flight 4, before it sends its own. So the side that refuses
  // the certificate on arrival (werift with patch 010, or OpenSSL in libdatachannel) is the answerer if the offer's
  // fingerprint was forged, else the offerer; its fatal alert is what ends the other side's handshake.
  const FINGERPRINT = /^its certificate is not the one the fingerprint in its description names$/;
  const NATIVE = /^the DTLS handshake failed after ICE had connected: its certificate is not the one the fingerprint/;
  const ALERT_OF = { werift: 'bad_certificate', native: 'unknown_ca' } as const;
  type Engine = keyof typeof ALERT_OF;
  function expectedReason(engine: Engine, refused: boolean, peerEngine: Engine): RegExp {
    if (engine === 'native') return NATIVE;
    return refused ? FINGERPRINT : new RegExp(`^the handshake ended with its fatal ${ALERT_OF[peerEngine]} alert: it refused our certificate`);
  }
  const FORGERIES: { send: Engine; recv: Engine; forge: 'offer' | 'answer' | 'both' }[] = [
    { send: 'werift', recv: 'werift', forge: 'both' },
    { send: 'werift', recv: 'werift', forge: 'offer' },
    { send: 'werift', recv: 'werift', forge: 'answer' },
    { send: 'native', recv: 'native', forge: 'both' },
    { send: 'werift', recv: 'native', forge: 'both' },
    { send: 'native', recv: 'werift', forge: 'both' },
  ];

  it.each(FORGERIES)(
    '--room, send-file on $send and recv-file on $recv, a relay that rewrites the DTLS fingerprint of the $forge: both sides refuse at once with RTC_ERR_PEER_AUTH',
    async ({ send, recv, forge }) => {
      let rewritten = 0;
      let forgedAt = 0;
      const tamper: Tamper = (d) => {
        const m = d as { kind?: string; sdp?: string };
        if ((m.kind === 'offer' || m.kind === 'answer') && (forge === 'both' || forge === m.kind) && m.sdp) {
          rewritten++;
          forgedAt = Date.now();
          return { ...m, sdp: forgeFingerprint(m.sdp) };
        }
        return d;
      };
      const started = Date.now();
      const { s, r, out, endedAt } = await viaRelay(tamper, false, { send: ['--engine', send], recv: ['--engine', recv] });
      expect(rewritten).toBe(forge === 'both' ? 2 : 1);
      // ICE worked, so this is an identity failure (what a man in the middle causes), not a network one, and neither
      // side waits for the other to go: werift used to leave one side retransmitting its flight for ~33 s and then
      // report RTC_ERR_PEER_LEFT (patches/README.md, patch 010).
      const auth = { code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/^the peer failed to prove its DTLS identity \(.*(fingerprint|handshake)/) };
      const sides = [
        { x: s, engine: send, peerEngine: recv },
        { x: r, engine: recv, peerEngine: send },
      ];
      for (const { x, engine, peerEngine } of sides) {
        const role = jsonLines(x.stdout).find((o) => o.event === 'connecting')?.role;
        expect(role === 'offerer' || role === 'answerer', x.stdout).toBe(true);
        const refused = (role === 'answerer') === (forge !== 'answer');
        expect(x.code, x.stderr).toBe(1);
        expect(errorOf(x), x.stderr).toMatchObject(auth);
        const reason = (resultOf(x) as { error?: { details?: { reason?: string } } }).error?.details?.reason;
        expect(reason, `${role}: ${x.stderr}`).toMatch(expectedReason(engine, refused, peerEngine));
        expect(jsonLines(x.stdout).some((o) => o.event === 'connected'), x.stdout).toBe(false);
      }
      expect(readdirSync(out)).toEqual([]);
      // Both processes gone within 5 s of the last forged description, the whole run (two process starts) within 10 s.
      expect(Math.max(endedAt.s, endedAt.r) - forgedAt).toBeLessThan(5_000);
      expect(Date.now() - started).toBeLessThan(10_000);
    },
    60_000,
  );

  it('with a code the same relay finds no SDP to rewrite, and the transfer is unharmed', async () => {
    let rewritten = 0;
    const tamper: Tamper = (d) => {
      const m = d as { sdp?: string };
      if (typeof m.sdp === 'string') rewritten++;
      return d;
    };
    const { s, r, out, hash } = await viaRelay(tamper, true);
    expect(rewritten).toBe(0);
    await expectDelivered(s, r, out, hash);
  }, 120_000);

  it('with a code, a relay that replaces the sealed offer by its own (forged fingerprint) makes both sides fail with RTC_ERR_PEER_AUTH', async () => {
    const { sdp } = await forgedOffer();
    let replaced = 0;
    const tamper: Tamper = (d) => {
      const m = d as { kind?: string; seq?: number };
      // The joiner's first sealed payload is its offer: swap it for a plain offer of the relay's own.
      if (m.kind === 'sealed' && m.seq === 0 && replaced === 0) {
        replaced++;
        return { kind: 'offer', sdp };
      }
      return d;
    };
    const { s, r, out } = await viaRelay(tamper, true);
    expect(replaced).toBe(1);
    expect(errorOf(s)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/unsealed offer arrived after authentication/) });
    expect(errorOf(r)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/tampered/) });
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('with a code, a relay that alters one bit of a sealed payload makes both sides fail with RTC_ERR_PEER_AUTH', async () => {
    let flipped = 0;
    const tamper: Tamper = (d) => {
      const m = d as { kind?: string; box?: string };
      if (m.kind === 'sealed' && m.box && flipped === 0) {
        flipped++;
        const b = Buffer.from(m.box, 'base64url');
        b[Math.floor(b.length / 2)] ^= 0x01;
        return { ...m, box: b.toString('base64url') };
      }
      return d;
    };
    const { s, r, out } = await viaRelay(tamper, true);
    expect(flipped).toBe(1);
    expect(errorOf(s)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', message: expect.stringMatching(/did not authenticate/) });
    expect(errorOf(r)).toMatchObject({ code: 'RTC_ERR_PEER_AUTH' });
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);
});

describe('nameplates', () => {
  it('send-file skips nameplate rooms that are taken (a squatter, a full room) and makes its code elsewhere', async () => {
    // Every room of 1-99 is taken: rooms with a silent squatter and full rooms (two squatters). The sender must move on
    // to 1-999 after its four tries, and the squatters must see nothing but a peer coming and going.
    // Its own server: ~150 connections from one address is more than serve allows one address by default.
    const crowded = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null, maxConnectionsPerAddress: 1000 });
    const squatters: SignalingClient[] = [];
    const got: unknown[] = [];
    try {
      for (let plate = 1; plate <= 99; plate++) {
        for (let k = 0; k < (plate % 2 === 0 ? 2 : 1); k++) {
          const c = await SignalingClient.connect({ url: crowded.signalUrl });
          c.on('message', (m) => got.push(m.data));
          await c.join(`rtc-cli-code-${plate}`);
          squatters.push(c);
        }
      }
      const { file, hash, out } = await fixture();
      const send = await startSender(crowded.signalUrl, file);
      expect(send.code.nameplate).toBeGreaterThan(99);
      expect(send.code.room).toBe(`rtc-cli-code-${send.code.nameplate}`);
      const r = await receive(crowded.signalUrl, send.code.code, out);
      const s = await send.done;
      await expectDelivered(s, r, out, hash);
      expect(got).toEqual([]);
    } finally {
      await Promise.all(squatters.map((c) => c.close()));
      await crowded.close();
    }
  }, 180_000);

  it('a sender nobody comes to stops after --timeout with RTC_ERR_NO_PEER, naming the nameplate but not the words', async () => {
    const { file } = await fixture(10);
    const send = await startSender(server.signalUrl, file, ['--timeout', '1']);
    const s = await send.done;
    expect(s.code).toBe(1);
    expect(errorOf(s)).toMatchObject({ code: 'RTC_ERR_NO_PEER', message: `no peer joined nameplate ${send.code.nameplate} within 1 s` });
    expect(s.stderr).toContain('hint: run `rtc-cli recv-file <code>` on the other side in time (or raise --timeout)');
  }, 60_000);
});

describe('--room says the peer is not authenticated', () => {
  it('once on stderr (an NDJSON warning with --json) and authenticated:false in the result; a code run says nothing of the kind', async () => {
    const { file, hash, out } = await fixture();
    const room = uniqueRoom('unauth');
    const recvDone = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out]), { timeoutMs: 90_000 });
    const s = await collect(spawnCli(['send-file', ...peerFlags(server.signalUrl, room), file]), { timeoutMs: 90_000 });
    const r = await recvDone;
    await expectDelivered(s, r, out, hash);
    for (const x of [s, r]) {
      expect(transferResult(x).authenticated).toBe(false);
      const warnings = jsonLines(x.stderr).filter((o) => o.event === 'warning' && /not authenticated/.test(String(o.message)));
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]!.message)).toContain(room);
    }
    // Human output: the same sentence, once, as a warning line.
    const human = await collect(spawnCli(['recv-file', '--signal', server.signalUrl, '--room', uniqueRoom('h'), '--timeout', '0.5']), { timeoutMs: 30_000 });
    expect(human.code).toBe(1);
    expect(human.stderr.match(/warning: the peer is not authenticated/g)).toHaveLength(1);
    expect(human.stderr).toContain('leave out --room to get a code');
  }, 120_000);
});

describe('code flags', () => {
  it('refuse contradictions and typos before connecting (exit 2)', async () => {
    const runs: [string[], RegExp][] = [
      [['recv-file'], /needs the code the sender printed/],
      [['recv-file', '7-guitarist-revenge', '--room', 'x'], /cannot be combined with --room/],
      [['recv-file', '7-guitarist-revenge', '--manual'], /cannot be combined with --manual/],
      [['recv-file', '7-guitarist-revenge', '--code', '8-guitarist-revenge'], /two different codes/],
      [['recv-file', '7-guitarist-revnge'], /"revnge", is not in the word list \(did you mean "revenge"\?\)/],
      [['send-file', '--code-words', '9', 'x'], /--code-words must be between 2 and 8/],
    ];
    for (const [args, msg] of runs) {
      const r = await collect(spawnCli([...args, '--signal', server.signalUrl]), { timeoutMs: 30_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
  }, 120_000);
});

async function until(pred: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A real werift offer with its fingerprint replaced: what a hostile server would substitute. */
async function forgedOffer(): Promise<{ sdp: string }> {
  const { readFile } = await import('node:fs/promises');
  const sdp = await readFile(new URL('../../fixtures/sdp/werift-offer.sdp', import.meta.url), 'utf8');
  return { sdp: forgeFingerprint(sdp) };
}
