/**
 * The transfer channel holds messages until the link listens (src/rtc/transfer/channel.ts). A sender that finishes
 * connecting first sends `hello` at once; werift delivers a message only to listeners present when it arrives, so a
 * receiver still finishing connectPeer lost it and failed 15 s later with "no hello". Real werift and native peers,
 * connected over 127.0.0.1 in this process, with no ICE servers.
 */
import { describe, expect, it } from 'vitest';
import type { FileChannel } from '../../../src/rtc/engine/types.js';
import { channelOpen, EARLY_MESSAGES_MAX, HeldChannel } from '../../../src/rtc/transfer/channel.js';
import { enginePair as pair } from '../../helpers/engine-pair.js';

const never = new Promise<never>(() => {});

describe('the transfer channel before the link listens', () => {
  it.each([
    ['native', 'werift'],
    ['werift', 'werift'],
    ['werift', 'native'],
  ] as const)('%s → %s: words sent the moment the channel opens reach a listener attached 300 ms later, in order', async (send, recv) => {
    const { a, b, ca, cb } = await pair(send, recv);
    try {
      await channelOpen(ca, never);
      ca.send('{"t":"hello","v":1,"files":1}');
      ca.send(Buffer.from([1, 2, 3]));
      await channelOpen(cb, never);
      await new Promise((r) => setTimeout(r, 300));
      const got: (string | Buffer)[] = [];
      cb.onMessage((m) => got.push(m));
      ca.send('after');
      await expect.poll(() => got.length, { timeout: 5_000 }).toBe(3);
      expect(got[0]).toBe('{"t":"hello","v":1,"files":1}');
      expect(Buffer.from(got[1] as Buffer)).toEqual(Buffer.from([1, 2, 3]));
      expect(got[2]).toBe('after');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
});

describe('copiesOnSend (the sender reuses its read buffers on an engine that claims it: read-blocks.ts)', () => {
  it.each([
    ['native', 'werift'],
    ['native', 'native'],
  ] as const)('%s → %s: one 64 KiB buffer refilled after each send still arrives as 64 different messages', async (send, recv) => {
    const { a, b, ca, cb } = await pair(send, recv);
    try {
      expect(ca.copiesOnSend).toBe(true);
      const got: Buffer[] = [];
      cb.onMessage((m) => typeof m !== 'string' && got.push(Buffer.from(m)));
      await Promise.all([channelOpen(ca, never), channelOpen(cb, never)]);
      const buf = Buffer.alloc(65_536);
      // All 64 are queued at once (4 MiB, past what the network takes in one go): an engine that kept a reference
      // would send the last fill many times.
      for (let i = 0; i < 64; i++) ca.send(buf.fill(i));
      await expect.poll(() => got.length, { timeout: 15_000 }).toBe(64);
      expect(got.map((m) => (m.every((x) => x === m[0]) ? m[0] : -1))).toEqual([...Array(64).keys()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('werift does not claim it: it queues references to what it sends until they are acknowledged', async () => {
    const { a, b, ca } = await pair('werift', 'werift');
    await Promise.all([a.close(), b.close()]);
    expect(ca.copiesOnSend).toBe(false);
  });
});

describe('HeldChannel', () => {
  function fake(): { inner: FileChannel; deliver: (m: string) => void } {
    let deliver: (m: string) => void = () => {};
    const inner = { onMessage: (fn: (m: string) => void) => (deliver = fn) } as unknown as FileChannel;
    return { inner, deliver: (m) => deliver(m) };
  }

  it(`keeps at most ${EARLY_MESSAGES_MAX} early messages, then hands later ones straight to the one listener`, () => {
    const { inner, deliver } = fake();
    const ch = new HeldChannel(inner);
    for (let i = 0; i < EARLY_MESSAGES_MAX + 10; i++) deliver(`m${i}`);
    const got: (string | Buffer)[] = [];
    ch.onMessage((m) => got.push(m));
    expect(got).toHaveLength(EARLY_MESSAGES_MAX);
    expect(got[EARLY_MESSAGES_MAX - 1]).toBe(`m${EARLY_MESSAGES_MAX - 1}`);
    deliver('late');
    expect(got.at(-1)).toBe('late');
    expect(() => ch.onMessage(() => {})).toThrow(/already has its listener/);
  });
});
