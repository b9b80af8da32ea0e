/**
 * `rtc-cli sdp inspect`: explain an SDP offer/answer (RFC 8866 syntax, JSEP RFC 8829 usage) with sdp-transform doing
 * the parsing. Pure: takes text, returns a typed report; the command renders it.
 *
 * Accepted inputs: a raw SDP, a JSON RTCSessionDescription (`{"type":"offer","sdp":"v=0..."}`, what browsers' devtools
 * copy), or an rtc-cli manual line (`rtc1.offer.…`, docs/peer-signaling.md).
 */
import sdpTransform from 'sdp-transform';
import { RtcError } from '../errors.js';
import { formatEndpoint } from '../stun/endpoint.js';
import { fromGrammar, type CandidateInfo } from './candidate.js';
import { decodeManualLine } from './manual-signal.js';

export interface SdpCodec {
  payloadType: number;
  name: string;
  clockRate: number | null;
  channels: number | null;
  fmtp: string | null;
  rtcpFb: string[];
}

/** A candidate of an m-section (src/rtc/candidate.ts) and the mid it belongs to. */
export interface SdpCandidate extends CandidateInfo {
  mid: string | null;
}

export interface SdpSection {
  index: number;
  kind: string;
  mid: string | null;
  /** sendrecv / sendonly / recvonly / inactive (RFC 8866 §6.7); null for data channels. */
  direction: string | null;
  port: number;
  protocol: string;
  /** Port 0: the answerer rejected (or the offerer disabled) this m-section (RFC 8843 / JSEP §5.3.1). */
  rejected: boolean;
  codecs: SdpCodec[];
  headerExtensions: { id: number; uri: string }[];
  /** Data channels only: SCTP port and the largest message the sender of this SDP accepts (RFC 8841). */
  sctp?: { port: number | null; maxMessageSize: number | null };
  ice: { ufrag: string | null; pwd: boolean; options: string | null };
  dtls: { fingerprint: { hash: string; value: string } | null; setup: string | null };
  rtcpMux: boolean;
  ssrcs: number[];
  candidates: SdpCandidate[];
  endOfCandidates: boolean;
}

export interface SdpReport {
  /** From the JSON/manual wrapper, or guessed from a=setup (actpass only appears in offers, RFC 8842 §5.2). */
  type: 'offer' | 'answer' | 'unknown';
  origin: { sessionId: string; sessionVersion: number; address: string } | null;
  bundle: string[] | null;
  iceLite: boolean;
  sections: SdpSection[];
  candidates: SdpCandidate[];
  warnings: string[];
}

export interface SdpPairReport {
  offer: SdpReport;
  answer: SdpReport;
  /** Per m-section: codecs both sides list (by name/clock rate/channels), and what was negotiated. */
  negotiation: { index: number; mid: string | null; kind: string; common: string[]; rejected: boolean }[];
  warnings: string[];
}

function bad(message: string, hint?: string): RtcError {
  return new RtcError('RTC_ERR_BAD_SDP', message, { hint: hint ?? 'give a complete SDP (starting with v=0), a {"type","sdp"} JSON object, or an rtc1.offer/answer line' });
}

/** Unwrap JSON/manual-line inputs and check the SDP's line syntax (RFC 8866 §5: `<type>=<value>`, v=0 first). */
export function extractSdp(input: string): { sdp: string; type?: 'offer' | 'answer' } {
  const text = input.replace(/^\uFEFF/, '').trim();
  if (!text) throw bad('the input is empty');
  if (/^rtc1\./.test(text)) {
    const d = decodeManualLine(text);
    return { sdp: d.sdp, type: d.type };
  }
  if (text.startsWith('{')) {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new RtcError('RTC_ERR_BAD_SDP', 'the input looks like JSON but does not parse', { cause: e });
    }
    const d = o as { type?: unknown; sdp?: unknown };
    if (typeof d !== 'object' || d === null || typeof d.sdp !== 'string') throw bad('the JSON has no "sdp" string');
    return { sdp: d.sdp, type: d.type === 'offer' || d.type === 'answer' ? d.type : undefined };
  }
  return { sdp: text };
}

function checkSyntax(sdp: string): void {
  const lines = sdp.split(/\r?\n/);
  if (lines[0] !== 'v=0') throw bad(`line 1 must be "v=0" (got "${lines[0]!.slice(0, 40)}")`);
  let sawO = false;
  let sawS = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '' && i === lines.length - 1) continue;
    if (!/^[a-z]=/.test(l)) throw bad(`line ${i + 1} is not "<letter>=<value>": "${l.slice(0, 60)}"`);
    if (l.startsWith('o=')) sawO = true;
    if (l.startsWith('s=')) sawS = true;
  }
  if (!sawO || !sawS) throw bad('the SDP has no o= or s= line (RFC 8866 §5 requires both)');
}

const fbText = (f: { type: string; subtype?: string }): string => (f.subtype ? `${f.type} ${f.subtype}` : f.type);

/** Parse and explain one SDP. Throws RTC_ERR_BAD_SDP for input that is not an SDP. */
export function inspectSdp(input: string): SdpReport {
  const { sdp, type: wrapped } = extractSdp(input);
  checkSyntax(sdp);
  const s = sdpTransform.parse(sdp);
  const warnings: string[] = [];
  // Stryker disable next-line ArrayDeclaration: a non-empty fallback holds a string, whose .type is never 'BUNDLE'
  const bundleGroup = (s.groups ?? []).find((g) => g.type === 'BUNDLE');
  const bundle = bundleGroup ? String(bundleGroup.mids).split(' ').filter(Boolean) : null;
  // Stryker disable next-line ArrayDeclaration: unreachable, sdp-transform's parse() always sets media
  const sections: SdpSection[] = (s.media ?? []).map((m, index) => {
    const mid = m.mid === undefined ? null : String(m.mid);
    // Stryker disable next-line ArrayDeclaration: unreachable, sdp-transform creates every media with rtp: []
    const codecs: SdpCodec[] = (m.rtp ?? []).map((r) => ({
      payloadType: r.payload,
      name: r.codec,
      clockRate: r.rate ?? null,
      channels: r.encoding === undefined ? null : Number(r.encoding),
      // Stryker disable next-line ArrayDeclaration: unreachable, sdp-transform creates every media with fmtp: []
      fmtp: (m.fmtp ?? []).find((f) => f.payload === r.payload)?.config ?? null,
      // Stryker disable next-line ArrayDeclaration: a non-empty fallback holds a string, whose .payload matches no codec
      rtcpFb: (m.rtcpFb ?? []).filter((f) => String(f.payload) === String(r.payload) || f.payload === '*').map(fbText),
    }));
    // Stryker disable next-line ArrayDeclaration: a non-empty fallback holds a string, which fromGrammar() drops (no component)
    const candidates: SdpCandidate[] = (m.candidates ?? []).flatMap((c) => {
      const info = fromGrammar(c);
      return info ? [{ mid, ...info }] : [];
    });
    const fingerprint = m.fingerprint ?? s.fingerprint;
    const isData = m.type === 'application';
    const section: SdpSection = {
      index,
      kind: m.type,
      mid,
      direction: isData ? null : (m.direction ?? s.direction ?? 'sendrecv'),
      port: m.port,
      protocol: m.protocol,
      rejected: m.port === 0,
      codecs,
      headerExtensions: (m.ext ?? []).map((e) => ({ id: e.value, uri: e.uri })),
      ice: { ufrag: m.iceUfrag ?? s.iceUfrag ?? null, pwd: Boolean(m.icePwd ?? s.icePwd), options: m.iceOptions ?? s.iceOptions ?? null },
      dtls: { fingerprint: fingerprint ? { hash: fingerprint.type, value: fingerprint.hash } : null, setup: m.setup ?? s.setup ?? null },
      rtcpMux: Boolean(m.rtcpMux),
      ssrcs: [...new Set((m.ssrcs ?? []).map((x) => Number(x.id)))],
      candidates,
      endOfCandidates: Boolean(m.endOfCandidates),
    };
    if (isData) {
      const legacy = (m as { sctpmap?: { app?: string; sctpmapNumber?: number } }).sctpmap;
      section.sctp = { port: m.sctpPort ?? legacy?.sctpmapNumber ?? null, maxMessageSize: m.maxMessageSize ?? null };
    }
    return section;
  });

  const setups = sections.map((x) => x.dtls.setup).filter(Boolean);
  const type: SdpReport['type'] = wrapped ?? (setups.includes('actpass') ? 'offer' : setups.length ? 'answer' : 'unknown');
  const all = sections.flatMap((x) => x.candidates);

  // Warnings: the problems that actually break sessions, in the order a reader would check them.
  if (sections.length === 0) warnings.push('no m= sections: nothing would be negotiated');
  for (const x of sections) {
    if (x.rejected) continue;
    const label = `m=${x.kind} (mid ${x.mid ?? '?'})`;
    if (!x.dtls.fingerprint) warnings.push(`${label} has no a=fingerprint: WebRTC requires DTLS (RFC 8827 §6.5); the peer will refuse it`);
    if (!x.ice.ufrag || !x.ice.pwd) warnings.push(`${label} has no a=ice-ufrag/a=ice-pwd: ICE cannot run (RFC 8839 §5.4)`);
    if (type === 'answer' && x.dtls.setup === 'actpass') warnings.push(`${label}: an answer must say a=setup:active or passive, not actpass (RFC 8842 §5.3)`);
    if (x.kind !== 'application' && x.codecs.length === 0) warnings.push(`${label} lists no codecs`);
    if (bundle && x.mid !== null && !bundle.includes(x.mid)) warnings.push(`${label} is not in the BUNDLE group: it needs its own transport`);
  }
  if (all.length === 0 && sections.some((x) => !x.rejected)) {
    warnings.push('no ICE candidates: fine for trickle ICE over a signaling server, but a copy/paste exchange needs the SDP taken after gathering completed');
  } else if (all.length > 0 && all.every((c) => c.type === 'host' && isLocalOnly(c.address))) {
    warnings.push('only host candidates on loopback/private/mDNS addresses: a peer outside this network cannot reach them without STUN (srflx) or TURN (relay)');
  }
  return {
    type,
    origin: s.origin ? { sessionId: String(s.origin.sessionId), sessionVersion: Number(s.origin.sessionVersion), address: s.origin.address } : null,
    bundle,
    iceLite: Boolean((s as { icelite?: string }).icelite),
    sections,
    candidates: all,
    warnings,
  };
}

function isLocalOnly(addr: string): boolean {
  if (addr.endsWith('.local')) return true;
  if (/^(127\.|10\.|192\.168\.|169\.254\.)/.test(addr)) return true;
  if (/^172\.(1[6-9]|2\d|3[01])\./.test(addr)) return true;
  if (/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(addr)) return true; // CGNAT, RFC 6598
  const a = addr.toLowerCase();
  return a === '::1' || a.startsWith('fe80:') || a.startsWith('fc') || a.startsWith('fd');
}

/** RTP codec identity for matching across an offer and an answer: payload types may differ (RFC 8829 §5.3.1). */
function codecKey(c: SdpCodec): string {
  return `${c.name.toLowerCase()}/${c.clockRate ?? ''}${c.channels && c.channels > 1 ? `/${c.channels}` : ''}`;
}

/** Codecs that carry no media by themselves. */
const AUXILIARY = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'telephone-event', 'cn']);

/** Inspect an offer and its answer together: per-section codec intersection and mismatches. */
export function inspectSdpPair(offerText: string, answerText: string): SdpPairReport {
  const offer = inspectSdp(offerText);
  const answer = inspectSdp(answerText);
  const warnings: string[] = [];
  if (offer.type === 'answer') warnings.push('the first SDP looks like an answer (a=setup is not actpass): give the offer first');
  if (answer.type === 'offer') warnings.push('the second SDP looks like an offer (a=setup:actpass): give the answer second');
  if (offer.sections.length !== answer.sections.length) {
    warnings.push(`the offer has ${offer.sections.length} m= sections but the answer has ${answer.sections.length}: an answer must have exactly one per offered section (RFC 8829 §5.3.1)`);
  }
  const negotiation: SdpPairReport['negotiation'] = [];
  offer.sections.forEach((o, i) => {
    const a = answer.sections[i];
    if (!a) return;
    const label = `m=${o.kind} (mid ${o.mid ?? '?'})`;
    if (a.kind !== o.kind) warnings.push(`${label}: the answer's section ${i} is m=${a.kind}`);
    if (a.mid !== o.mid) warnings.push(`${label}: the answer's section ${i} has mid ${a.mid ?? 'none'}`);
    const rejected = a.rejected;
    if (rejected) warnings.push(`${label} was rejected by the answer (port 0)`);
    let common: string[] = [];
    if (o.kind !== 'application') {
      const offered = new Set(o.codecs.map(codecKey));
      common = [...new Set(a.codecs.map(codecKey).filter((k) => offered.has(k)))];
      const media = common.filter((k) => !AUXILIARY.has(k.split('/')[0]!));
      if (!rejected && media.length === 0) {
        warnings.push(`${label}: no common codec between offer (${listCodecs(o)}) and answer (${listCodecs(a)}): no media can flow`);
      }
    }
    if (o.direction && a.direction && !rejected && !directionsCompatible(o.direction, a.direction)) {
      warnings.push(`${label}: answer direction ${a.direction} does not fit offer direction ${o.direction} (RFC 8829 §5.3.1)`);
    }
    const os = o.dtls.setup;
    const as = a.dtls.setup;
    if (!rejected && os && as && ((os === 'active' && as !== 'passive') || (os === 'passive' && as !== 'active'))) {
      warnings.push(`${label}: DTLS roles clash (offer setup:${os}, answer setup:${as})`);
    }
    negotiation.push({ index: i, mid: o.mid, kind: o.kind, common, rejected });
  });
  return { offer, answer, negotiation, warnings };
}

function listCodecs(x: SdpSection): string {
  const names = [...new Set(x.codecs.filter((c) => !AUXILIARY.has(c.name.toLowerCase())).map((c) => c.name))];
  return names.length ? names.join(', ') : 'none';
}

/** RFC 3264 §6.1: sendonly ↔ recvonly, sendrecv ↔ anything, inactive ↔ inactive. */
function directionsCompatible(offer: string, answer: string): boolean {
  if (answer === 'inactive') return true;
  if (offer === 'sendrecv') return true;
  if (offer === 'sendonly') return answer === 'recvonly';
  if (offer === 'recvonly') return answer === 'sendonly';
  return false; // offer inactive → answer must be inactive
}

// ---------------------------------------------------------------------------------------------------------------
// Human rendering (pure strings)

export function formatSdpReport(r: SdpReport, title?: string): string {
  const out: string[] = [];
  out.push(`${title ?? 'SDP'}: ${r.type}${r.bundle ? `, BUNDLE ${r.bundle.join(' ')}` : ', no BUNDLE'}${r.iceLite ? ', ICE lite' : ''}`);
  for (const x of r.sections) {
    out.push('');
    out.push(`  m=${x.kind} mid=${x.mid ?? '-'} ${x.direction ?? ''} ${x.protocol} port ${x.port}${x.rejected ? ' (REJECTED)' : ''}`.replace(/ {2,}/g, ' ').replace(/^ m/, '  m'));
    for (const c of x.codecs) {
      const ch = c.channels ? `/${c.channels}` : '';
      const extra = [c.fmtp ? `fmtp ${c.fmtp}` : '', c.rtcpFb.length ? `rtcp-fb ${c.rtcpFb.join(', ')}` : ''].filter(Boolean).join('; ');
      out.push(`    ${String(c.payloadType).padStart(3)} ${c.name}/${c.clockRate ?? '?'}${ch}${extra ? `  ${extra}` : ''}`);
    }
    if (x.sctp) out.push(`    SCTP port ${x.sctp.port ?? '?'}, max-message-size ${x.sctp.maxMessageSize ?? '(default 64 KiB)'}`);
    out.push(`    ICE ufrag ${x.ice.ufrag ?? '(none)'}${x.ice.options ? `, options ${x.ice.options}` : ''}; DTLS setup ${x.dtls.setup ?? '(none)'}, fingerprint ${x.dtls.fingerprint ? `${x.dtls.fingerprint.hash} ${x.dtls.fingerprint.value}` : '(none)'}`);
    for (const c of x.candidates) {
      const rel = c.relatedAddress ? ` raddr ${c.relatedPort === undefined ? `${c.relatedAddress}:?` : formatEndpoint({ address: c.relatedAddress, port: c.relatedPort })}` : '';
      out.push(`    candidate ${c.type} ${c.protocol} ${formatEndpoint(c)} priority ${c.priority}${rel}`);
    }
    if (x.endOfCandidates) out.push('    end-of-candidates');
  }
  if (r.warnings.length) {
    out.push('');
    for (const w of r.warnings) out.push(`  warning: ${w}`);
  }
  return out.join('\n');
}

export function formatSdpPairReport(p: SdpPairReport): string {
  const out = [formatSdpReport(p.offer, 'offer'), '', formatSdpReport(p.answer, 'answer'), '', 'negotiation:'];
  for (const n of p.negotiation) {
    out.push(`  m=${n.kind} mid=${n.mid ?? '-'}: ${n.rejected ? 'rejected' : n.kind === 'application' ? 'data channel' : n.common.length ? `common ${n.common.join(', ')}` : 'NO COMMON CODEC'}`);
  }
  for (const w of p.warnings) out.push(`  warning: ${w}`);
  return out.join('\n');
}
