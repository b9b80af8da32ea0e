// The browser side of the rtc-cli signaling protocol v1 (docs/signaling-protocol.md): one WebSocket on the same origin
// at /ws, JSON messages with a `type` field. Rooms, membership and relay only: the server never reads SDP.

/** The URL of the signaling endpoint that served this page (ws:// on http, wss:// on https). */
export function defaultSignalUrl(loc = location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export class SignalingClient extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.id = null;
    this.room = null;
    this.maxMessageBytes = 64 * 1024;
  }

  /** Connect, wait for `welcome`, send `join`, resolve with the `joined` message. Every wait has a timeout. */
  join(room, token, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (fn, v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn(v);
      };
      const timer = setTimeout(() => {
        done(reject, new Error(`the signaling server at ${this.url} did not answer within ${timeoutMs / 1000} s`));
        this.close();
      }, timeoutMs);
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        done(reject, new Error(`cannot open ${this.url}: ${e.message}`));
        return;
      }
      this.ws = ws;
      ws.onerror = () => done(reject, new Error(`cannot reach the signaling server at ${this.url}`));
      ws.onclose = (ev) => {
        done(reject, new Error(`the signaling server closed the connection (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`));
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: ev.code, reason: ev.reason } }));
      };
      ws.onmessage = (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return; // never crash on malformed input
        }
        if (!msg || typeof msg.type !== 'string') return;
        switch (msg.type) {
          case 'welcome': {
            if (typeof msg.maxMessageBytes === 'number') this.maxMessageBytes = msg.maxMessageBytes;
            const join = { type: 'join', room };
            if (token) join.token = token;
            ws.send(JSON.stringify(join));
            break;
          }
          case 'joined':
            this.id = msg.id;
            this.room = msg.room;
            done(resolve, { id: msg.id, room: msg.room, peers: Array.isArray(msg.peers) ? msg.peers : [] });
            break;
          case 'full':
            done(reject, new Error(`room "${msg.room}" is full (${msg.size} peers)`));
            break;
          case 'error':
            if (!settled) done(reject, new Error(`${msg.message || 'refused'} [${msg.code || 'error'}]`));
            else this.dispatchEvent(new CustomEvent('server-error', { detail: msg }));
            break;
          case 'peer-joined':
          case 'peer-left':
          case 'relay':
            this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
            break;
          default:
            break; // unknown types are ignored (forward compatibility)
        }
      };
    });
  }

  /** Relay `data` to one peer (`to`) or to everyone else in the room. */
  send(data, to) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const msg = { type: 'relay', data };
    if (to) msg.to = to;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  close() {
    if (!this.ws) return;
    try {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'leave' }));
      this.ws.close(1000, 'leave');
    } catch {
      /* already closed */
    }
    this.ws = null;
  }
}
