/** The real signaling client (src/signaling/client.ts), adapted to what the peer session needs (PeerSignaling). */
import type { PeerSignaling } from './types.js';

export async function defaultSignaling(url: string, token: string | undefined, abort: AbortSignal): Promise<PeerSignaling> {
  const { SignalingClient } = await import('../../signaling/client.js');
  const sc = await SignalingClient.connect({ url, token, signal: abort });
  // Server `error` replies (e.g. relaying to a peer that just left) are not fatal here: peer-left and the timeout
  // decide. An EventEmitter 'error' without a listener would throw, so there always is one.
  sc.on('error', () => {});
  return {
    join: (room) => sc.join(room),
    leave: () => sc.leave(),
    send: (to, data) => sc.send(data, to),
    onPeerJoined: (fn) => void sc.on('peer-joined', fn),
    onPeerLeft: (fn) => void sc.on('peer-left', fn),
    onMessage: (fn) => void sc.on('message', fn),
    onError: (fn) =>
      void sc.on('closed', (err) => {
        if (err) fn(err);
      }),
    close: async () => {
      try {
        await sc.leave();
      } catch {
        /* closing anyway */
      }
      await sc.close();
    },
  };
}
