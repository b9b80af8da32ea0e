/**
 * Signaling wire protocol v1: the message shapes and the validation of everything a client may send. Shared by the
 * server (src/signaling/server.ts) and the client (src/signaling/client.ts). The prose version, for people writing
 * other clients, is docs/signaling-protocol.md; keep the two in step.
 *
 * Every frame is one UTF-8 text WebSocket message holding one JSON object with a string `type`.
 */
import { SIGNALING_PROTOCOL_VERSION } from './types.js';

export { SIGNALING_PROTOCOL_VERSION };

/** Room names: 1–64 characters of [A-Za-z0-9._-] (safe in URLs, logs and file names without escaping). */
export const ROOM_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
export const ROOM_NAME_MAX = 64;
/** Peer ids the server assigns (and so the only `to` values worth looking up). */
export const PEER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Tokens longer than this are refused without comparing (bounds the work an attacker can cause). */
export const TOKEN_MAX = 1024;

/** Close codes the server uses (RFC 6455 §7.4: 4000–4999 are for applications). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
/** IANA WebSocket close code registry: Service Restart. The client should reconnect (and join again). */
export const CLOSE_SERVICE_RESTART = 1012;
export const CLOSE_TRY_AGAIN = 1013;
/** Wrong or missing token (401 in spirit). */
export const CLOSE_UNAUTHORIZED = 4401;
/** No successful `join` within the server's join timeout (408 in spirit). */
export const CLOSE_JOIN_TIMEOUT = 4408;
/** Too many wrong tokens from this address: token joins are refused for a while (429 in spirit). */
export const CLOSE_THROTTLED = 4429;

/**
 * How deep JSON may nest in a client message (relay `data` and any other field). Peer payloads are 2-4 levels deep;
 * a few thousand levels make the server's JSON.stringify of the outgoing relay overflow the call stack (found by
 * fuzzing: test/signaling/fixtures/protocol-fuzz.json). JSON.parse itself copes (V8's parser is iterative), so the
 * depth is checked on the parsed value.
 */
export const MAX_DATA_DEPTH = 64;

/** Stable error codes carried in `{"type":"error","code":...}`. Never rename one; add new ones at the end. */
export const SIGNAL_ERROR_CODES = [
  'bad-json',
  'bad-message',
  'unknown-type',
  'too-large',
  'bad-room',
  'not-joined',
  'rate-limited',
  'unauthorized',
  'too-many-rooms',
  'server-full',
  'unknown-peer',
  'already-joined',
  'slow-consumer',
  'join-timeout',
  'too-many-connections',
  'throttled',
  'server-busy',
  'undeliverable',
] as const;
export type SignalErrorCode = (typeof SIGNAL_ERROR_CODES)[number];

// ---------------------------------------------------------------------------------------------------------------
// server → client

export interface WelcomeMsg {
  type: 'welcome';
  v: number;
  /** True when the server was started with --token: `join` must carry it. */
  auth: boolean;
  /** Largest text frame (in bytes, UTF-8) the server accepts; bigger ones get a `too-large` error. */
  maxMessageBytes: number;
  /** How many rooms one connection may be in at once. */
  maxRooms: number;
  /** The server pings every this many ms; a client that hears nothing for ~2.5 intervals may assume the link is dead. */
  heartbeatMs: number;
  /** A connection that has not joined a room this many ms after connecting is closed (4408). Absent on older servers. */
  joinTimeoutMs?: number;
  /** Messages per second a connection may send (sustained), and the burst allowance. */
  rate: { perSecond: number; burst: number };
}
export interface JoinedMsg {
  type: 'joined';
  v: number;
  room: string;
  id: string;
  peers: string[];
  /** The room's capacity. */
  size: number;
}
export interface PeerJoinedMsg {
  type: 'peer-joined';
  room: string;
  id: string;
}
export interface PeerLeftMsg {
  type: 'peer-left';
  room: string;
  id: string;
}
export interface FullMsg {
  type: 'full';
  room: string;
  size: number;
}
export interface LeftMsg {
  type: 'left';
  room: string;
}
export interface RelayOutMsg {
  type: 'relay';
  room: string;
  from: string;
  data: unknown;
}
export interface ErrorMsg {
  type: 'error';
  code: SignalErrorCode;
  message: string;
  /** The `type` of the message that caused it, when known. */
  ref?: string;
  /** The room concerned, when there is one. */
  room?: string;
}
export interface PongMsg {
  type: 'pong';
}
export type ServerMessage = WelcomeMsg | JoinedMsg | PeerJoinedMsg | PeerLeftMsg | FullMsg | LeftMsg | RelayOutMsg | ErrorMsg | PongMsg;

// ---------------------------------------------------------------------------------------------------------------
// client → server

export interface JoinMsg {
  type: 'join';
  room: string;
  token?: string;
}
export interface RelayInMsg {
  type: 'relay';
  data: unknown;
  to?: string;
  room?: string;
}
export interface LeaveMsg {
  type: 'leave';
  room?: string;
}
/** Application-level keepalive for clients that cannot see WebSocket pings (the server also pings). */
export interface PingMsg {
  type: 'ping';
}
export type ClientMessage = JoinMsg | RelayInMsg | LeaveMsg | PingMsg;

export type ParseResult = { ok: true; msg: ClientMessage } | { ok: false; code: SignalErrorCode; message: string; ref?: string };

function fail(code: SignalErrorCode, message: string, ref?: string): ParseResult {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** Check an optional room field: absent is fine, present must be a valid name. */
function optionalRoom(o: Record<string, unknown>, ref: string): ParseResult | undefined {
  if (!hasOwn(o, 'room') || o.room === undefined) return undefined;
  if (typeof o.room !== 'string' || !ROOM_NAME_RE.test(o.room)) {
    return fail('bad-room', `"room" must be 1-${ROOM_NAME_MAX} characters of A-Z a-z 0-9 . _ -`, ref);
  }
  return undefined;
}

/**
 * True when a parsed JSON value nests arrays/objects deeper than `max` levels (the value itself is level 1 if it is
 * an array or object). The recursion stops at `max`, so it never goes deeper than `max` + 1 frames whatever the input;
 * the work is bounded by the number of nodes (a typical peer payload has under ten).
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max < 1) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (jsonDepthExceeds(value[i], max - 1)) return true;
    return false;
  }
  for (const k in value) {
    if (Object.prototype.hasOwnProperty.call(value, k) && jsonDepthExceeds((value as Record<string, unknown>)[k], max - 1)) return true;
  }
  return false;
}

/** Serialise a server message. One place, so a test can check that everything the parser accepts can be sent on. */
export function encodeServerMessage(m: ServerMessage): string {
  return JSON.stringify(m);
}

/**
 * Validate one text frame from a client. Never throws. Only own properties are read, so keys like `__proto__` or
 * `constructor` in the JSON cannot change what is checked (JSON.parse makes them plain own data properties).
 */
export function parseClientMessage(text: string): ParseResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return fail('bad-json', 'message is not valid JSON');
  }
  // The message object itself is one level; its fields (relay `data`) may use MAX_DATA_DEPTH more.
  if (jsonDepthExceeds(v, MAX_DATA_DEPTH + 1)) return fail('bad-message', `JSON nested deeper than ${MAX_DATA_DEPTH} levels`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('bad-message', 'message must be a JSON object');
  const o = v as Record<string, unknown>;
  if (!hasOwn(o, 'type') || typeof o.type !== 'string') return fail('bad-message', 'message needs a string "type"');
  const type = o.type;
  switch (type) {
    case 'join': {
      if (!hasOwn(o, 'room') || typeof o.room !== 'string' || !ROOM_NAME_RE.test(o.room)) {
        return fail('bad-room', `"room" must be 1-${ROOM_NAME_MAX} characters of A-Z a-z 0-9 . _ -`, type);
      }
      if (hasOwn(o, 'token') && o.token !== undefined && typeof o.token !== 'string') {
        return fail('bad-message', '"token" must be a string', type);
      }
      const msg: JoinMsg = { type, room: o.room };
      if (typeof o.token === 'string') msg.token = o.token;
      return { ok: true, msg };
    }
    case 'relay': {
      if (!hasOwn(o, 'data')) return fail('bad-message', 'relay needs a "data" field', type);
      const bad = optionalRoom(o, type);
      if (bad) return bad;
      if (hasOwn(o, 'to') && o.to !== undefined && (typeof o.to !== 'string' || o.to.length === 0 || o.to.length > 64)) {
        return fail('bad-message', '"to" must be a peer id string', type);
      }
      const msg: RelayInMsg = { type, data: o.data };
      if (typeof o.to === 'string') msg.to = o.to;
      if (typeof o.room === 'string') msg.room = o.room;
      return { ok: true, msg };
    }
    case 'leave': {
      const bad = optionalRoom(o, type);
      if (bad) return bad;
      const msg: LeaveMsg = { type };
      if (typeof o.room === 'string') msg.room = o.room;
      return { ok: true, msg };
    }
    case 'ping':
      return { ok: true, msg: { type } };
    default:
      // Echo at most a short, printable prefix of what we did not understand.
      return fail('unknown-type', `unknown message type "${type.slice(0, 32).replace(/[^\x20-\x7e]/g, '?')}"`, type.slice(0, 32));
  }
}

/** Parse a frame from the server (client side). Returns undefined for anything that is not an object with a type. */
export function parseServerMessage(text: string): ServerMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  if (typeof (v as { type?: unknown }).type !== 'string') return undefined;
  return v as ServerMessage;
}
