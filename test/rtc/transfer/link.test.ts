/**
 * The transfer link's queue (src/rtc/transfer/link.ts): file bytes that arrived behind the one being written are taken
 * together (recv-file writes them with one pwritev), never past a control message and never more than asked.
 * The channel is a stand-in for the FileChannel seam: messages are pushed into it by hand.
 */
import { describe, expect, it } from 'vitest';
import type { FileChannel } from '../../../src/rtc/engine/types.js';
import { encodeControl } from '../../../src/rtc/file-transfer-protocol.js';
import type { PeerSession } from '../../../src/rtc/peer.js';
import { Link } from '../../../src/rtc/transfer/link.js';

function setup(): { link: Link; deliver: (m: string | Buffer) => void } {
  let deliver: (m: string | Buffer) => void = () => {};
  const channel = {
    readyState: 'open',
    bufferedAmount: 0,
    highWater: 1 << 20,
    lowWater: 1 << 18,
    send: () => {},
    onMessage: (fn: (m: string | Buffer) => void) => (deliver = fn),
    onState: () => () => {},
    onBufferedLow: () => () => {},
  } as unknown as FileChannel;
  const session = { peerLeft: new Promise(() => {}) } as unknown as PeerSession;
  const link = new Link(channel, session, { idleTimeoutMs: 60_000 });
  return { link, deliver: (m) => deliver(m) };
}

const chunk = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('Link.takeQueuedData', () => {
  it('takes the data queued behind, in order, up to maxBytes, and leaves the rest for next()', async () => {
    const { link, deliver } = setup();
    for (let i = 1; i <= 5; i++) deliver(chunk(100, i));
    const first = await link.next();
    expect(first).toMatchObject({ kind: 'data' });
    const batch = link.takeQueuedData(250);
    expect(batch.map((b) => b[0])).toEqual([2, 3]);
    expect(link.takeQueuedData(1_000).map((b) => b[0])).toEqual([4, 5]);
    expect(link.takeQueuedData(1_000)).toEqual([]);
  });

  it('stops at a control message, which next() then returns in its place', async () => {
    const { link, deliver } = setup();
    deliver(chunk(10, 1));
    deliver(chunk(10, 2));
    deliver(encodeControl({ t: 'end', index: 0, size: 20, sha256: 'a'.repeat(64) }));
    deliver(chunk(10, 3));
    await link.next();
    expect(link.takeQueuedData(1_000).map((b) => b[0])).toEqual([2]);
    expect(await link.next()).toMatchObject({ kind: 'control', msg: { t: 'end' } });
    expect((await link.next()).kind).toBe('data');
  });

  it('takes one chunk larger than maxBytes rather than none, so a batch always moves', async () => {
    const { link, deliver } = setup();
    deliver(chunk(10, 1));
    deliver(chunk(500, 2));
    deliver(chunk(10, 3));
    await link.next();
    expect(link.takeQueuedData(100).map((b) => b.length)).toEqual([500]);
    expect(link.takeQueuedData(100).map((b) => b.length)).toEqual([10]);
  });
});
