/**
 * Two engine peers in this process, connected over 127.0.0.1 with no ICE servers, each with its transfer channel
 * (src/rtc/transfer/channel.ts): `a` offers, `b` answers, without trickle. For tests that need the peers themselves
 * rather than the rtc-cli commands (test/rtc/transfer/channel.test.ts, test/rtc/engine/load.sctp-window.test.ts).
 */
import { buildIceConfig } from '../../src/rtc/ice-config.js';
import { loadEngine } from '../../src/rtc/engine/load.js';
import type { EngineName, EnginePeer, FileChannel } from '../../src/rtc/engine/types.js';
import { createFileChannel } from '../../src/rtc/transfer/channel.js';

const ice = buildIceConfig({ iceAddress: '127.0.0.1' });

export interface EnginePair {
  a: EnginePeer;
  b: EnginePeer;
  ca: FileChannel;
  cb: FileChannel;
}

/** Offer/answer done; the channels open on their own (await channelOpen). The caller closes both peers. */
export async function enginePair(offerer: EngineName, answerer: EngineName): Promise<EnginePair> {
  const a = await (await loadEngine(offerer, ice)).engine.create(ice, { trickle: false });
  const b = await (await loadEngine(answerer, ice)).engine.create(ice, { trickle: false });
  const ca = createFileChannel(a);
  const cb = createFileChannel(b);
  await a.createOffer();
  await a.gatheringComplete(5_000);
  await b.applyRemote('offer', a.localSdp());
  await b.createAnswer();
  await b.gatheringComplete(5_000);
  await a.applyRemote('answer', b.localSdp());
  return { a, b, ca, cb };
}
