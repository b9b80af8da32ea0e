// The chat: a negotiated data channel `chat` (id 2) on every connection, which `record --chat` and `publish --chat`
// create too (docs/companion-page.md). One UTF-8 text message per line.
import { state } from './state.js';
import { $, log } from './ui.js';

export const CHAT_CHANNEL = { label: 'chat', id: 2 };

export function setupChat(c, dc) {
  c.dc = dc;
  dc.onopen = () => {
    log(`chat channel with ${c.id} open`);
    updateChatButton();
  };
  dc.onclose = () => updateChatButton();
  dc.onmessage = (e) => {
    const text = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data);
    addChat(c.id, text);
  };
}

export function updateChatButton() {
  $('chat-send').disabled = ![...state.conns.values()].some((c) => c.dc?.readyState === 'open');
}

function addChat(from, text) {
  state.chat.push({ from, text, at: Date.now() });
  const li = document.createElement('li');
  const who = document.createElement('strong');
  who.textContent = from === state.myId ? 'me' : from;
  li.append(who, `: ${text}`);
  li.dataset.from = from;
  $('chat-log').appendChild(li);
}

export function sendChat(text) {
  let sent = 0;
  for (const c of state.conns.values()) {
    if (c.dc?.readyState === 'open') {
      c.dc.send(text);
      sent += 1;
    }
  }
  if (sent) addChat(state.myId, text);
  return sent;
}
