/** The public shapes of send-file/recv-file: options in, results and progress out (docs/file-transfer-protocol.md §Result). */
import type { Readable, Writable } from 'node:stream';
import type { RtcErrorCode } from '../../errors.js';
import type { PeerEvent, PeerSessionOptions, SelectedPair } from '../peer.js';
import type { WeriftPatchState } from '../werift-patches.js';
import type { EngineChoice, EngineName } from '../engine/types.js';

export interface TransferProgress {
  direction: 'send' | 'recv';
  index: number;
  name: string;
  /** Bytes of this file done so far, including a resumed prefix. */
  bytes: number;
  /** Size of this file, null while unknown (stdin). */
  size: number | null;
  /** Where this session started in the file (resume). */
  offset: number;
  /** Bytes that crossed the channel in this session, all files. */
  sessionBytes: number;
  /** Bytes per second over this file's transfer so far. */
  rate: number;
  etaSeconds: number | null;
}

export interface TransferredFile {
  index: number;
  /** The name on the wire (sender) or as saved (receiver). */
  name: string;
  size: number;
  sha256: string;
  /** Sender: the source path ('-' for stdin). Receiver: where it was saved ('-' for --stdout). */
  path: string;
  /** Bytes skipped because the receiver already had them (resume). */
  offset: number;
  /** Bytes of this file sent/received in this session. */
  transferred: number;
  /** Receiver: the name the sender asked for, when we saved under another one (existing file, normalised name). */
  requestedName?: string;
}

export interface FailedFile {
  index: number;
  name: string;
  code: RtcErrorCode;
  message: string;
}

export interface TransferResult {
  role: 'sender' | 'receiver';
  files: TransferredFile[];
  failed: FailedFile[];
  /** Bytes of file data that crossed the channel in this session. */
  bytes: number;
  seconds: number;
  /** Megabits per second of file data (bytes * 8 / 1e6 / seconds). */
  mbps: number;
  path: 'direct' | 'relayed';
  selectedPair: SelectedPair;
  setupMs: number;
  /** The data-channel engine this side ran on (`--engine`; src/rtc/engine). */
  engine: EngineName;
  /** The werift this run used and whether rtc-cli's performance patches are applied to it (patches/README.md). */
  werift: WeriftPatchState;
  /** True when the peer proved it knows the code (docs/peer-auth.md); false for --room and --manual sessions. */
  authenticated: boolean;
}

/** The peer session's options, passed through to connectPeer untouched, plus what the transfer adds. */
export interface SessionOptions extends Omit<PeerSessionOptions, 'setup' | 'setupPeer' | 'onEvent' | 'engine'> {
  onEvent?: (e: PeerEvent) => void;
  /** The data-channel engine (src/rtc/engine/load.ts): `auto` (the default) runs native when it loads, else werift. */
  engine?: EngineChoice;
  onProgress?: (p: TransferProgress) => void;
  /**
   * Both sides give up when nothing arrives from the peer for this long; the receiver also when the sender makes no
   * progress (only keepalives) for this long. Default 15000 ms.
   */
  idleTimeoutMs?: number;
}

export interface SendSource {
  /** A file path, or '-' for stdin. */
  path: string;
  /** The name to announce (default: the path's basename; "stdin" for '-'). */
  name?: string;
}

export interface SendFilesOptions extends SessionOptions {
  files: SendSource[];
  /** Where '-' reads from (default process.stdin is NOT assumed: the command passes it). */
  stdin?: Readable;
  chunkSize?: number;
}

export interface ReceiveFilesOptions extends SessionOptions {
  /** Output directory (must exist). Ignored with `stdout`. */
  outDir: string;
  /** Replace existing files (never a dotfile) instead of saving under a free name. */
  force?: boolean;
  /** Accept names starting with "." (refused by default). */
  allowDotfiles?: boolean;
  /** Refuse files larger than this many bytes (announced size, or bytes received for a stream of unknown size). */
  maxSize?: number;
  /** Write every file's bytes to this stream instead of files (recv-file --stdout). */
  stdout?: Writable;
}
