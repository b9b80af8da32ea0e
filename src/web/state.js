// The page's state, shared by its modules. `window.rtcPage` exposes it, plus the actions app.js adds, for people
// poking in devtools and for the automated tests (test/web/*.system.test.ts).

export const params = new URLSearchParams(location.search);

export const state = {
  sig: null,
  myId: null,
  room: null,
  /** @type {Map<string, any>} remote peer id → connection (peers.js) */
  conns: new Map(),
  camera: null, // MediaStream from getUserMedia
  screenTrack: null,
  pipeline: null,
  recorder: null,
  maxBitrateKbps: null,
  lastStats: {},
  chat: [],
  errors: [],
};

window.rtcPage = state;
