/**
 * The peer session's public types (re-exported by src/rtc/peer.ts). Kept in their own module so the session's parts
 * (src/rtc/session/*, src/rtc/auth/*) import them without importing peer.ts back.
 */
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import type { IceConfig } from '../ice-config.js';
import type { JoinResult, RelayedMessage } from '../../signaling/types.js';
import type { SelectedPair } from '../peer-connection.js';
import type { EngineName, EnginePeer } from '../engine/types.js';
import type { PeerEngine } from '../engine/load.js';
import type { ManualKind } from '../manual-signal.js';

export type PeerRole = 'offerer' | 'answerer';

/** Progress of connectPeer, for rendering (spinner text, NDJSON events). `type` is stable. */
export type PeerEvent =
  | { type: 'signaling-connected'; url: string }
  | { type: 'joined'; room: string; id: string; peers: number }
  /** Code mode, the side that made the code: give this code to the other side (docs/peer-auth.md). */
  | { type: 'code'; code: string; nameplate: number; room: string }
  | { type: 'waiting-for-peer'; room: string }
  | { type: 'peer-joined'; peerId: string }
  /** Code mode: the PAKE exchange with this peer started / succeeded (key confirmation verified). */
  | { type: 'authenticating'; peerId: string }
  | { type: 'authenticated'; peerId: string }
  | { type: 'connecting'; role: PeerRole; peerId?: string }
  | { type: 'manual-offer'; line: string }
  | { type: 'manual-answer'; line: string }
  | { type: 'manual-waiting'; expect: ManualKind }
  | { type: 'connected'; path: 'direct' | 'relayed'; selectedPair: SelectedPair; setupMs: number; authenticated: boolean }
  | { type: 'peer-left'; reason: string }
  /** Data-only sessions: the engine chosen (`--engine`); `fallback` says why `auto` could not use the native one. */
  | { type: 'engine'; engine: EngineName; fallback?: string };

/** Relayed payloads (docs/peer-signaling.md). Unknown kinds are ignored so both sides can add kinds later. */
export type PeerSignal =
  | { kind: 'offer'; sdp: string }
  | { kind: 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }
  | { kind: 'bye'; reason?: string };

/** The part of the signaling client the peer session uses (src/signaling/client.ts implements it). */
export interface PeerSignaling {
  join(room: string): Promise<JoinResult>;
  /** Leave the room joined last (code mode leaves a nameplate that turned out to be taken). */
  leave(): Promise<void>;
  send(to: string, data: unknown): void;
  onPeerJoined(fn: (id: string) => void): void;
  onPeerLeft(fn: (id: string) => void): void;
  onMessage(fn: (msg: RelayedMessage) => void): void;
  /** Fatal signaling errors (the server refused us, the connection is gone for good). */
  onError(fn: (err: Error) => void): void;
  close(): Promise<void>;
}

export interface ManualOptions {
  /** Where the offer/answer line is printed (one call, one line, no newline). */
  output: (line: string) => void;
  /** Where the other side's line is read from (stdin). */
  input: AsyncIterable<string> | NodeJS.ReadableStream;
  /** Which side prints the offer. Default 'offerer' (send-file offers, recv-file answers). */
  role?: PeerRole;
}

/**
 * Short-code authentication (docs/peer-auth.md). `{ create: true }`: pick a free nameplate, emit a `code` event and
 * wait for the peer that knows it. `{ code }`: meet the peer that made this code. Either way the room comes from the
 * code's nameplate (`room` is ignored) and every payload after the PAKE travels sealed.
 */
export type PeerAuthOptions = { create: true; words?: number } | { code: string };

export interface PeerSessionOptions {
  ice: IceConfig;
  /** ws(s):// URL of the signaling server, or 'manual' for copy/paste SDP. */
  signal: string;
  room?: string;
  token?: string;
  /** Authenticate the peer with a short code (not with `manual`). Without it the peer is whoever joins the room. */
  auth?: PeerAuthOptions;
  /** No peer within this → RTC_ERR_NO_PEER; a peer but no connection within this → RTC_ERR_ICE_FAILED. */
  timeoutMs: number;
  /**
   * How long to wait for the peer to show up, when that should differ from `timeoutMs` (a person typing a code).
   * When set, the peer has `timeoutMs` from the moment it appears to be connected.
   */
  peerWaitMs?: number;
  abort?: AbortSignal;
  /**
   * The WebRTC stack (src/rtc/engine): werift by default. Media sessions (record, publish) stay on werift; the
   * data-only commands may run on node-datachannel (`--engine`).
   */
  engine?: PeerEngine;
  /** werift engine only: add tracks/transceivers/data channels to the RTCPeerConnection before negotiation. */
  setup?: (pc: RTCPeerConnection, role: PeerRole) => void | Promise<void>;
  /** Any engine: create data channels before negotiation (after `setup`); role tells which side we are. */
  setupPeer?: (peer: EnginePeer, role: PeerRole) => void | Promise<void>;
  manual?: ManualOptions;
  onEvent?: (e: PeerEvent) => void;
  /** Extra werift options (e.g. sctp settings; werift engine only). The ICE-related ones come from `ice`. */
  peerConfig?: Partial<RTCPeerConnectionConfig>;
  /** Test seam / alternative transports: build the signaling connection. Default: src/signaling/client.ts. */
  connectSignaling?: (url: string, token: string | undefined, abort: AbortSignal) => Promise<PeerSignaling>;
  /**
   * How long a "disconnected" ICE/DTLS state may last before the peer counts as gone (consent freshness,
   * RFC 7675 §5.1, gives up after ~30 s; we decide sooner). Default 8000 ms.
   */
  disconnectGraceMs?: number;
}

export interface PeerSession {
  /** The connection, whatever the engine. */
  peer: EnginePeer;
  engine: EngineName;
  /** werift engine only (media): its RTCPeerConnection. Throws RTC_ERR_INTERNAL on another engine. */
  readonly pc: RTCPeerConnection;
  role: PeerRole;
  remoteId?: string;
  selectedPair: SelectedPair;
  path: 'direct' | 'relayed';
  /** From the start of negotiation (offer created or received) to the connection being up, in ms. */
  setupMs: number;
  /** True when the peer proved it knows the code (PAKE key confirmation, sealed signaling, DTLS binding). */
  authenticated: boolean;
  /** Resolves when the remote leaves the room, closes the connection, or ICE fails. Never rejects. */
  peerLeft: Promise<void>;
  /** Why peerLeft resolved (undefined while the peer is there). */
  readonly leftReason: string | undefined;
  /** Close the peer connection and leave the room. Idempotent. */
  close(): Promise<void>;
}
