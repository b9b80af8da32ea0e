/**
 * The text chat the companion page offers (src/web/app.js): one data channel labelled "chat", UTF-8 text messages.
 * Like every rtc-cli channel (docs/peer-signaling.md) it is a negotiated channel (RFC 8832 §6 not used: both sides
 * create id CHAT_ID before negotiation), so it works whichever side offers. record and publish both join the chat so
 * a person at the page can talk to the CLI side.
 */
import type { RTCPeerConnection, RTCDataChannel } from 'werift';

export const CHAT_LABEL = 'chat';
export const CHAT_ID = 2;
/** werift throws on data-channel messages over 64 KiB (werift.md); the page caps its input at 4000 characters. */
const MAX_CHAT_BYTES = 16 * 1024;

export interface ChatHooks {
  /** A message from the remote peer. */
  onMessage?: (text: string) => void;
  /** Lines to send (e.g. stdin); each non-empty line is one message. Read only once the channel is open. */
  input?: AsyncIterable<string>;
}

export interface Chat {
  /** Send one message; false when the channel is not open or the text is too long. */
  send(text: string): boolean;
  readonly sent: number;
  readonly received: number;
}

/** Attach the chat channel in a connectPeer `setup` callback. */
export function attachChat(pc: RTCPeerConnection, hooks: ChatHooks): Chat {
  let channel: RTCDataChannel | undefined;
  let sent = 0;
  let received = 0;
  const chat: Chat = {
    send(text) {
      if (!channel || channel.readyState !== 'open') return false;
      if (Buffer.byteLength(text) > MAX_CHAT_BYTES) return false;
      channel.send(text);
      sent += 1;
      return true;
    },
    get sent() {
      return sent;
    },
    get received() {
      return received;
    },
  };
  const use = (dc: RTCDataChannel): void => {
    if (dc.label !== CHAT_LABEL) return;
    channel = dc;
    dc.onMessage.subscribe((data) => {
      received += 1;
      // Never crash on what a peer sends: binary is decoded as UTF-8 (invalid bytes become U+FFFD).
      const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
      hooks.onMessage?.(text);
    });
    const pump = async (): Promise<void> => {
      if (!hooks.input) return;
      for await (const line of hooks.input) {
        const t = line.replace(/\r?\n$/, '');
        if (t) chat.send(t);
      }
    };
    if (dc.readyState === 'open') void pump().catch(() => {});
    else dc.stateChanged.subscribe((s) => {
      if (s === 'open') void pump().catch(() => {});
    });
  };
  use(pc.createDataChannel(CHAT_LABEL, { negotiated: true, id: CHAT_ID }));
  return chat;
}
