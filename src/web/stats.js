// getStats() → a few numbers a person can read. Stat names: W3C "Identifiers for WebRTC's Statistics API"
// (outbound-rtp, inbound-rtp, remote-inbound-rtp, candidate-pair, local-candidate).

export class StatsSampler {
  constructor(pc) {
    this.pc = pc;
    this.prev = new Map(); // id -> {bytes, t}
  }

  rate(id, bytes, t) {
    const p = this.prev.get(id);
    this.prev.set(id, { bytes, t });
    if (!p || t <= p.t) return undefined;
    return ((bytes - p.bytes) * 8) / (t - p.t); // bits per ms = kbps
  }

  /** One sample: {path, rttMs, send:{kbps,fps,width,height,lossPct}, recv:{kbps,fps,width,height,framesDecoded,lossPct}} */
  async sample() {
    const report = await this.pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    const out = { send: {}, recv: {} };
    let pair;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      // Firefox has no transport.selectedCandidatePairId; it flags the pair itself.
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded')) && !pair) pair = s;
      });
    }
    if (pair) {
      const lc = byId.get(pair.localCandidateId);
      const rc = byId.get(pair.remoteCandidateId);
      const relayed = lc?.candidateType === 'relay' || rc?.candidateType === 'relay';
      const addr = (c) => (c ? `${c.address ?? c.ip ?? '?'}:${c.port} ${c.candidateType}/${c.protocol}` : '?');
      out.path = `${relayed ? 'relayed (TURN)' : 'direct'} — ${addr(lc)} ⇄ ${addr(rc)}`;
      out.relayed = relayed;
      if (typeof pair.currentRoundTripTime === 'number') out.rttMs = pair.currentRoundTripTime * 1000;
    }
    report.forEach((s) => {
      const t = s.timestamp;
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.send.kbps = this.rate(s.id, s.bytesSent, t);
        out.send.fps = s.framesPerSecond;
        out.send.width = s.frameWidth;
        out.send.height = s.frameHeight;
        out.send.framesEncoded = s.framesEncoded;
        out.send.packetsSent = s.packetsSent;
        const codec = byId.get(s.codecId);
        if (codec) out.send.codec = codec.mimeType;
      } else if (s.type === 'outbound-rtp' && s.kind === 'audio' && out.send.kbps === undefined) {
        out.send.audioKbps = this.rate(s.id, s.bytesSent, t);
      } else if (s.type === 'remote-inbound-rtp' && s.kind === 'video') {
        if (typeof s.fractionLost === 'number') out.send.lossPct = s.fractionLost * 100;
        if (out.rttMs === undefined && typeof s.roundTripTime === 'number') out.rttMs = s.roundTripTime * 1000;
      } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.recv.kbps = this.rate(s.id, s.bytesReceived, t);
        out.recv.fps = s.framesPerSecond;
        out.recv.width = s.frameWidth;
        out.recv.height = s.frameHeight;
        out.recv.framesDecoded = s.framesDecoded;
        const lost = s.packetsLost ?? 0;
        const got = s.packetsReceived ?? 0;
        if (got + lost > 0) out.recv.lossPct = (100 * lost) / (got + lost);
        const codec = byId.get(s.codecId);
        if (codec) out.recv.codec = codec.mimeType;
      }
    });
    return out;
  }
}

const n = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');

/** Render a sample into the `data-stat` cells of a connection card. */
export function renderStats(card, s) {
  const set = (k, v) => {
    const el = card.querySelector(`[data-stat="${k}"]`);
    if (el) el.textContent = v;
  };
  set('path', s.path ?? '—');
  set('rtt', s.rttMs !== undefined ? `${n(s.rttMs, 1)} ms` : '—');
  set('send-video', s.send.width ? `${s.send.width}×${s.send.height} @ ${n(s.send.fps)} fps ${s.send.codec ?? ''}` : '—');
  set('send-bitrate', s.send.kbps !== undefined ? `${n(s.send.kbps)} kbps` : s.send.audioKbps !== undefined ? `${n(s.send.audioKbps)} kbps (audio)` : '—');
  set('send-loss', s.send.lossPct !== undefined ? `${n(s.send.lossPct, 1)} %` : '—');
  set('recv-video', s.recv.width ? `${s.recv.width}×${s.recv.height} @ ${n(s.recv.fps)} fps ${s.recv.codec ?? ''}` : '—');
  set('recv-bitrate', s.recv.kbps !== undefined ? `${n(s.recv.kbps)} kbps` : '—');
  set('frames-decoded', s.recv.framesDecoded !== undefined ? String(s.recv.framesDecoded) : '—');
  set('recv-loss', s.recv.lossPct !== undefined ? `${n(s.recv.lossPct, 1)} %` : '—');
}
