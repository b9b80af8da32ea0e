/**
 * One transfer session: connect the peers with the transfer channel created before negotiation, run one side of the
 * protocol over the link, and always close in the right order. Plus the result both sides report.
 */
import { RtcError } from '../../errors.js';
import { loadEngine } from '../engine/load.js';
import { connectPeer, type PeerSession } from '../peer.js';
import { weriftPatchState } from '../werift-patches.js';
import { channelOpen, createFileChannel, type FileChannel } from './channel.js';
import { Link } from './link.js';
import type { SelectedPair } from '../engine/types.js';
import type { FailedFile, SessionOptions, TransferredFile, TransferResult } from './types.js';

const DEFAULT_IDLE_TIMEOUT_MS = 15_000;

export async function withSession<T>(opts: SessionOptions, run: (session: PeerSession, link: Link) => Promise<T>): Promise<T> {
  let channel: FileChannel | undefined;
  const { engine, fallback } = await loadEngine(opts.engine ?? 'auto', opts.ice);
  opts.onEvent?.({ type: 'engine', engine: engine.name, fallback });
  const session = await connectPeer({
    ...opts,
    engine,
    setupPeer: (peer) => {
      channel = createFileChannel(peer);
    },
  });
  const link = new Link(channel!, session, { idleTimeoutMs: idleTimeout(opts), abort: opts.abort });
  try {
    await channelOpen(channel!, link.failure);
    return await run(session, link);
  } finally {
    // Let a last message (an error, the final ack) leave before the channel closes: the peer must learn why.
    await link.drained(1_000);
    link.finished = true;
    link.stop();
    await session.close();
  }
}

export function idleTimeout(opts: SessionOptions): number {
  return opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
}

/**
 * The pair that carries the data, read when the data ends (both sides then read it at about the same moment, while
 * both connections are up). Not the pair of the `connected` event: libjuice's controlled agent may still have been on
 * its first succeeded pair then, before the controlling agent's nomination reached it (RFC 8445 §8.1.1). Not after the
 * peer hung up either: a closed connection reports no pair, and the connect-time one would stand in for it.
 */
export function pairNow(session: PeerSession): SelectedPair {
  return session.peer.selectedPair() ?? session.selectedPair;
}

export function summarize(
  role: 'sender' | 'receiver',
  session: PeerSession,
  files: TransferredFile[],
  failed: FailedFile[],
  started: number,
  ended = Date.now(),
  pair = pairNow(session),
): TransferResult {
  const seconds = Math.max((ended - started) / 1000, 0.001);
  const bytes = files.reduce((a, f) => a + f.transferred, 0);
  return {
    role,
    files,
    failed,
    bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: Math.round(((bytes * 8) / 1e6 / seconds) * 100) / 100,
    path: pair.path,
    engine: session.engine,
    selectedPair: pair,
    setupMs: session.setupMs,
    werift: weriftPatchState(),
    authenticated: session.authenticated,
  };
}

/** The error a session with failed files ends in: the first failure's code, the whole result in its details. */
export function failureError(result: TransferResult): RtcError {
  const f = result.failed[0]!;
  const more = result.failed.length > 1 ? ` (and ${result.failed.length - 1} more file(s) failed)` : '';
  return new RtcError(f.code, `${f.message}${more}`, { details: { result } });
}
