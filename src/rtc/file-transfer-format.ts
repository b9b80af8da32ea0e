/**
 * Human renderings for send-file/recv-file (pure: returns strings, prints nothing). Lives beside the transfer code so
 * both command files share it without importing each other.
 */
import type { PeerEvent } from './peer.js';
import { formatSelectedPair } from './peer-connection.js';
import type { TransferProgress, TransferResult } from './file-transfer.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

export function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `ETA ${Math.ceil(s)}s`;
  return `ETA ${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

/** "a.bin  12.3 MiB / 50.0 MiB  24%  15.2 MB/s  ETA 3s" */
export function formatProgress(p: TransferProgress): string {
  const verb = p.direction === 'send' ? 'sending' : 'receiving';
  const size = p.size === null ? '' : ` / ${formatBytes(p.size)}`;
  const pct = p.size ? `  ${Math.floor((p.bytes / p.size) * 100)}%` : p.size === 0 ? '  100%' : '';
  const resumed = p.offset > 0 ? `  (resumed at ${formatBytes(p.offset)})` : '';
  return `${verb} ${p.name}  ${formatBytes(p.bytes)}${size}${pct}  ${formatRate(p.rate)}  ${formatEta(p.etaSeconds)}${resumed}`.trimEnd();
}

/** Status text for the spinner; undefined for events that need no line. */
export function formatPeerEvent(e: PeerEvent): string | undefined {
  switch (e.type) {
    case 'signaling-connected':
      return `connected to ${e.url}`;
    case 'joined':
      return e.peers > 0 ? `joined room "${e.room}", a peer is there` : `joined room "${e.room}"`;
    case 'waiting-for-peer':
      return `waiting for a peer in room "${e.room}"`;
    case 'peer-joined':
      return `peer ${e.peerId} joined`;
    case 'connecting':
      return `connecting (${e.role})`;
    case 'manual-waiting':
      return `paste the ${e.expect} line from the other side, then press Enter`;
    case 'connected':
      return `connected: ${formatSelectedPair(e.selectedPair)} in ${e.setupMs} ms`;
    case 'peer-left':
      return `peer left: ${e.reason}`;
    case 'engine':
      return `data channels on ${e.engine === 'native' ? 'the native engine (node-datachannel)' : 'werift'}`;
    default:
      return undefined;
  }
}

export function formatResult(r: TransferResult): string {
  const lines: string[] = [];
  const verb = r.role === 'sender' ? 'sent' : 'received';
  for (const f of r.files) {
    const resumed = f.offset > 0 ? ` (resumed at ${formatBytes(f.offset)})` : '';
    const renamed = f.requestedName ? ` (as "${f.name}": "${f.requestedName}" was taken or unsafe)` : '';
    lines.push(`${verb} ${f.path}  ${formatBytes(f.size)}  sha256 ${f.sha256}${resumed}${renamed}`);
  }
  for (const f of r.failed) lines.push(`FAILED ${f.name}: ${f.message} [${f.code}]`);
  lines.push(
    `${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)} s (${r.mbps.toFixed(1)} Mbit/s), ${formatSelectedPair(r.selectedPair)}, setup ${r.setupMs} ms`,
  );
  if (r.engine === 'native') lines.push('engine: native (node-datachannel)');
  else if (!r.werift.patched) {
    lines.push(`note: werift ${r.werift.version ?? '(unknown version)'} runs without rtc-cli's performance patches: stock data-channel speed (README: Performance)`);
  }
  // libdatachannel's DTLS (OpenSSL/GnuTLS) checks the proofs itself: the note is about werift only.
  if (r.engine === 'werift' && !r.werift.dtlsProofs && !r.authenticated) {
    lines.push(`note: werift ${r.werift.version ?? '(unknown version)'} does not check that the DTLS peer holds its certificate's key (rtc-cli's werift patch 008 is missing): something on the network path could sit in the middle of this session unnoticed (SECURITY.md)`);
  }
  return lines.join('\n');
}
