/**
 * ICE candidate lines (RFC 8839 §5.1): the one place rtc-cli reads them. sdp-transform's grammar does the parsing,
 * for trickled candidates as for the a=candidate lines of a whole SDP; this module checks what the grammar lets
 * through (empty or out-of-range numbers) and gives one typed shape.
 *
 *   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 *             [raddr <address> rport <port>] [tcptype <active|passive|so>] *(<extension name> <value>)
 *
 * Input comes from the network: nothing here throws, a line that does not fit gives undefined.
 */
import sdpTransform from 'sdp-transform';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** One ICE candidate, as carried in an `a=candidate:` line (RFC 8839 §5.1). */
export interface CandidateInfo {
  foundation: string;
  component: number;
  /** Transport of the candidate itself, lower case: udp or tcp. */
  protocol: string;
  priority: number;
  address: string;
  port: number;
  type: CandidateType | string;
  relatedAddress?: string;
  relatedPort?: number;
  tcpType?: string;
}

/** A candidate as sdp-transform's grammar yields it (its numbers may be "" when a field was empty). */
export type GrammarCandidate = NonNullable<sdpTransform.MediaAttributes['candidates']>[number];

/** sdp-transform puts a=candidate lines before any m= line at session level, which its types do not declare. */
const sessionCandidates = (s: sdpTransform.SessionDescription): GrammarCandidate[] => (s as { candidates?: GrammarCandidate[] }).candidates ?? [];

/** RFC 8839 §5.1: priority is 1..2^31-1; component-id 1..256; a port fits 16 bits (0 for TCP active, RFC 6544). */
const MAX_PRIORITY = 2 ** 31 - 1;
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * The typed candidate for one grammar match, or undefined when a number is missing or out of range. sdp-transform
 * turns all-digit text into numbers (`foundation` "123" → 123) only when that round-trips exactly, so String()
 * gives the text back.
 */
export function fromGrammar(c: GrammarCandidate): CandidateInfo | undefined {
  if (!isInt(c.component, 1, 256) || !isInt(c.priority, 0, MAX_PRIORITY) || !isInt(c.port, 0, 65_535)) return undefined;
  if (String(c.foundation) === '' || String(c.ip) === '' || String(c.type) === '') return undefined;
  const info: CandidateInfo = {
    foundation: String(c.foundation),
    component: c.component,
    protocol: String(c.transport).toLowerCase(),
    priority: c.priority,
    address: String(c.ip),
    port: c.port,
    type: String(c.type),
  };
  if (c.raddr !== undefined && String(c.raddr) !== '') info.relatedAddress = String(c.raddr);
  if (isInt(c.rport, 0, 65_535)) info.relatedPort = c.rport;
  if (c.tcptype !== undefined && String(c.tcptype) !== '') info.tcpType = String(c.tcptype);
  return info;
}

/**
 * Parse one candidate (`a=candidate:...`, `candidate:...`, or the bare attribute value, as RTCIceCandidate.candidate
 * carries it). Runs of spaces count as one. A line break inside is refused: one candidate is one line, and a second
 * line smuggled into a trickled candidate must not become a second candidate.
 */
export function parseCandidate(line: string): CandidateInfo | undefined {
  const value = candidateValue(line);
  if (value === undefined) return undefined;
  const parsed = sessionCandidates(sdpTransform.parse(`a=candidate:${value}`));
  return parsed.length === 1 ? fromGrammar(parsed[0]!) : undefined;
}

/** The attribute value with single spaces, or undefined for text with a line break in it. */
function candidateValue(line: string): string | undefined {
  if (/[\r\n]/.test(line)) return undefined;
  return line.trim().replace(/^a=/, '').replace(/^candidate:/, '').replace(/[ \t]+/g, ' ');
}

/**
 * One extension of a well-formed candidate (RFC 8839 §5.1 cand-extension: name/value pairs after `typ <type>`), e.g.
 * `ufrag`, which Chromium and werift add and sdp-transform's grammar does not name. Undefined when the candidate does
 * not parse or has no such extension. The value is text (an all-digit ufrag stays "0123").
 */
export function candidateExtension(line: string, name: string): string | undefined {
  if (!parseCandidate(line)) return undefined;
  // The grammar matched, so fields 0-7 are the fixed ones; pairs (raddr, rport, tcptype included) follow.
  const f = candidateValue(line)!.split(' ');
  for (let i = 8; i + 1 < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}

/** Every candidate of a whole SDP (session level and each m-section), malformed lines left out. */
export function sdpCandidates(sdp: string): CandidateInfo[] {
  const s = sdpTransform.parse(sdp);
  const all = [...sessionCandidates(s), ...(s.media ?? []).flatMap((m) => m.candidates ?? [])];
  return all.map(fromGrammar).filter((c): c is CandidateInfo => c !== undefined);
}

/** The candidate without its extensions, in RFC 8839 §5.1 order: what identifies it (trickle de-duplication). */
export function formatCandidateCore(c: CandidateInfo): string {
  return `${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
}

/**
 * A key under which the same candidate compares equal however it was written (with or without `a=`, extensions in
 * any order, transport in any case). A line that does not parse is its own key.
 */
export function candidateKey(line: string): string {
  const c = parseCandidate(line);
  return c ? formatCandidateCore(c) : line.trim();
}
