/**
 * Which engine a data-only peer command runs on (`--engine werift|native|auto`), loaded lazily so `--help` loads
 * neither. node-datachannel is an optionalDependency whose prebuilt binary comes as a per-platform optional package:
 * on a platform without one (or an install with --omit=optional) its import fails, and then `native` is an error
 * (RTC_ERR_ENGINE_UNAVAILABLE) while `auto` runs on werift and says why in `fallback` (the command prints it once).
 */
import type { RTCPeerConnectionConfig } from 'werift';
import { RtcError } from '../../errors.js';
import { parseIceServerUrl, type IceConfig } from '../ice-config.js';
import type { EngineChoice, EngineName, EnginePeer, EnginePeerOptions } from './types.js';

export interface PeerEngine {
  readonly name: EngineName;
  /** `werift` carries werift-only options (media codecs, bundle policy, sctp); other engines take none. */
  create(ice: IceConfig, o: EnginePeerOptions & { werift?: Partial<RTCPeerConnectionConfig> }): Promise<EnginePeer>;
}

export interface LoadedEngine {
  engine: PeerEngine;
  /** Set when `auto` could not load the native engine: one line saying why werift runs instead. */
  fallback?: string;
}

export const weriftEngine: PeerEngine = {
  name: 'werift',
  async create(ice, o) {
    const { createWeriftPeer } = await import('./werift.js');
    return createWeriftPeer(ice, o.werift);
  },
};

/**
 * usrsctp's send and receive buffers for native sessions. libdatachannel's 1 MiB default caps a 50 ms path far below
 * the link: the receive window (RFC 9260 §6.2.1) limits data in flight to 1 MiB per round trip, and in practice usrsctp
 * decayed to 4 MB/s there. Measured with bench/datachannel (raw node-datachannel, BENCH_NDC_SCTP): 4 MiB gave 26–35 MB/s
 * at 50 ms RTT and the same loopback rate as 1 MiB; 8 MiB was no faster at 50 ms and 20–30 % slower on loopback.
 */
export const NATIVE_SCTP_BUFFER = 4 * 1024 * 1024;

/** Import node-datachannel (and so its native binary). Rejects with RTC_ERR_ENGINE_UNAVAILABLE saying why. */
export async function loadNative(): Promise<PeerEngine> {
  let ndc: typeof import('node-datachannel');
  try {
    ndc = await import('node-datachannel');
    // The binary is loaded on import; reading the version proves it answers.
    ndc.getLibraryVersion();
  } catch (e) {
    const why = ((e as Error)?.message ?? String(e)).split('\n')[0]!;
    throw new RtcError('RTC_ERR_ENGINE_UNAVAILABLE', `the native engine (node-datachannel) cannot be loaded: ${why}`, {
      hint: 'use --engine werift (or auto), or reinstall rtc-cli with optional dependencies on a platform node-datachannel ships binaries for',
      cause: e,
    });
  }
  // Process-wide usrsctp settings; they apply to associations created afterwards (libdatachannel SctpTransport::
  // SetSettings). Fields left out keep libdatachannel's defaults.
  ndc.setSctpSettings({ recvBufferSize: NATIVE_SCTP_BUFFER, sendBufferSize: NATIVE_SCTP_BUFFER });
  const { createNativePeer } = await import('./native.js');
  return { name: 'native', create: async (ice, o) => createNativePeer(ndc, ice, o) };
}

/**
 * What the native engine cannot do with this ICE configuration, or undefined. libjuice, libdatachannel's ICE agent in
 * node-datachannel's binaries, reaches TURN servers over UDP only (libjuice issue #257): a turns: or
 * turn:...?transport=tcp server would be skipped, and a relay-only session would never connect.
 */
export function nativeLimitation(ice: IceConfig): string | undefined {
  // libdatachannel's "relay" policy only filters the local candidates it hands out (PeerConnection::processLocalCandidate
  // in src/impl/peerconnection.cpp); libjuice still pairs and checks from its host socket. Measured here: under that
  // policy checks left the host socket towards the peer's relay address, and one run ended on a host-to-host pair. So a
  // native session cannot promise --relay-only (RFC 8829 §4.1.1: only relay candidates used for checks).
  if (ice.relayOnly) return 'the native engine does not keep --relay-only strict (libjuice also sends from its host socket)';
  const tcp = ice.iceServers.map((s) => parseIceServerUrl(s.urls)).find((u) => u.scheme.startsWith('turn') && u.transport === 'tcp');
  return tcp ? `the native engine reaches TURN servers over UDP only, not ${tcp.url}` : undefined;
}

/**
 * The engine for `choice`: `auto` is the fastest one that can run this session (native, else werift with a
 * `fallback` line saying why).
 */
export async function loadEngine(choice: EngineChoice, ice: IceConfig): Promise<LoadedEngine> {
  if (choice === 'werift') return { engine: weriftEngine };
  const limit = nativeLimitation(ice);
  if (limit && choice === 'native') {
    throw new RtcError('RTC_ERR_USAGE', limit, { hint: 'use --engine werift (or auto) for --relay-only and TURN over TCP/TLS' });
  }
  if (limit) return { engine: weriftEngine, fallback: `${limit}; using the werift engine` };
  try {
    return { engine: await loadNative() };
  } catch (e) {
    if (choice === 'native') throw e;
    return { engine: weriftEngine, fallback: `${(e as Error).message}; using the werift engine` };
  }
}
