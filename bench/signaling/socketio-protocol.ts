// The socket.io reference spoken by rtc-cli's load generator (src/load): the Engine.IO v4 / Socket.IO v5 packets
// socket.io-client sends over a WebSocket (`40` connect, `42["join",room]`, `42["message",room,data]`, pong `3` for
// ping `2`), so the reference server sees what its real clients send and both servers face the same cheap client.
import type { LoadProtocol } from '../../src/load/client.js';

export const SOCKETIO_PROTOCOL: LoadProtocol = {
  path: () => '/socket.io/?EIO=4&transport=websocket',
  handshake(text, room) {
    if (text[0] === '0') return { send: '40' }; // Engine.IO open
    if (text.startsWith('40')) return { send: `42${JSON.stringify(['join', room])}` }; // Socket.IO connect ack
    if (text.startsWith('42["joined"')) return { joined: true };
    if (text.startsWith('42["full"')) return { error: 'full' };
    return {};
  },
  relay: (room, data) => `42["message",${JSON.stringify(room)},${data}]`,
  answer: (text) => (text === '2' ? '3' : undefined),
  errorCode: () => undefined,
};
