/**
 * BUNDLE (RFC 8843) as the remote side means it, normalised before werift sees the description.
 *
 * RFC 8843 lets a bundled m= section describe its transport in ways werift 0.25 does not follow:
 *
 *  - bundle-only sections (§6, §7.2): an offer with `a=bundle-only` and port 0 on every bundled section but the
 *    suggested tag (GStreamer webrtcbin and Firefox with bundle-policy max-bundle), and an answer that does the same
 *    for every section but the answerer-tagged one (§7.3). Port 0 there does NOT mean rejected, but werift treats it
 *    as rejected: it answers that section with port 0, or stops its transceiver, and the track never flows.
 *  - per-section ICE properties (§7.1.3, §10): in an initial offer "each m= section MUST contain unique ICE
 *    properties" (aiortc 1.4 gives every section its own ice-ufrag/ice-pwd, port and candidates). Once the tag is
 *    chosen only the tagged section's transport is used (§7.4); the other sections' candidates belong to transports
 *    the offerer discards, so checks against them can only fail (werift < 0.25 even took the last section's
 *    credentials for the shared transport, and every check failed with 400).
 *
 * `normalizeBundle()` rewrites each BUNDLE group so that every bundled section carries the tagged section's transport
 * (port, ICE credentials and options, DTLS fingerprint and setup: the BUNDLE attributes of §7.1.3) and drops candidates
 * that belong to another section's transport. Trickled candidates go through `routeCandidate()`: §10 says a candidate
 * trickled for any bundled section applies to the BUNDLE transport, i.e. the tag's; one trickled for a section whose
 * own ICE credentials differ from the tag's belongs to a discarded transport and is dropped.
 *
 * Pure functions; a description that needs nothing is returned byte for byte (browsers and werift use one set of
 * credentials for every section). The two `bundleRemote*` helpers keep the per-connection state for src/rtc/peer.ts.
 */
import sdpTransform from 'sdp-transform';
import { candidateExtension } from './candidate.js';

type Session = ReturnType<typeof sdpTransform.parse>;
type Media = Session['media'][number];

/** Where trickled candidates of one bundled m-section go. */
export interface BundleRoute {
  /** mid and m-line index of the tagged section whose transport the group uses. */
  tagMid: string;
  tagIndex: number;
  /** The tag's ice-ufrag: a trickled candidate naming another ufrag belongs to another transport. */
  tagUfrag?: string;
  /** This section had ICE credentials of its own (a transport that is not used): drop its candidates. */
  foreign: boolean;
}

export interface NormalizedDescription {
  sdp: string;
  /** Whether `sdp` differs from the input. */
  changed: boolean;
  /** Bundled sections by mid (tags included). */
  routes: Map<string, BundleRoute>;
  /** mid of each m-line, by index (for candidates that name only an sdpMLineIndex). */
  mids: (string | undefined)[];
  /** What was done, one line per change (the tests read it). */
  notes: string[];
}

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

interface Transport {
  ufrag?: string;
  pwd?: string;
  iceOptions?: string;
  fingerprint?: Media['fingerprint'];
  setup?: Media['setup'];
}

/** sdp-transform turns values that look like integers into numbers (`a=ice-ufrag:9117` → 9117): back to text. */
function text(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

function transportOf(s: Session, m: Media): Transport {
  return {
    ufrag: text(m.iceUfrag ?? s.iceUfrag),
    pwd: text(m.icePwd ?? s.icePwd),
    iceOptions: text(m.iceOptions ?? s.iceOptions),
    fingerprint: m.fingerprint ?? s.fingerprint,
    setup: m.setup ?? s.setup,
  };
}

/** The BUNDLE attributes (§7.1.3) of the tag, written into a bundled section. */
function copyTransport(m: Media, t: Transport, tag: Media): void {
  if (t.ufrag !== undefined) m.iceUfrag = t.ufrag;
  if (t.pwd !== undefined) m.icePwd = t.pwd;
  if (t.iceOptions !== undefined) m.iceOptions = t.iceOptions;
  if (t.fingerprint !== undefined) m.fingerprint = { ...t.fingerprint };
  if (t.setup !== undefined) m.setup = t.setup;
  if (!m.connection && tag.connection) m.connection = { ...tag.connection };
  if (tag.rtcpMux && !m.rtcpMux) m.rtcpMux = tag.rtcpMux;
}

function sameTransport(a: Transport, b: Transport): boolean {
  return (
    a.ufrag === b.ufrag &&
    a.pwd === b.pwd &&
    a.fingerprint?.hash.toUpperCase() === b.fingerprint?.hash.toUpperCase() &&
    (a.setup === b.setup || a.setup === undefined || b.setup === undefined)
  );
}

/** The tagged section of a group: the first listed mid with a port (§7.2.1: never a bundle-only section). */
function findTag(media: Media[], mids: string[]): number | undefined {
  for (const mid of mids) {
    const i = media.findIndex((m) => String(m.mid) === mid);
    if (i >= 0 && media[i]!.port !== 0) return i;
  }
  return undefined;
}

/**
 * Normalise every BUNDLE group of a remote offer or answer (see the module comment). Never throws: a description it
 * cannot parse is returned unchanged, for werift to judge.
 */
export function normalizeBundle(sdp: string): NormalizedDescription {
  const unchanged: NormalizedDescription = { sdp, changed: false, routes: new Map(), mids: [], notes: [] };
  let session: Session;
  try {
    session = sdpTransform.parse(sdp);
  } catch {
    return unchanged;
  }
  const media = session.media ?? [];
  unchanged.mids = media.map((m) => (m.mid === undefined ? undefined : String(m.mid)));
  const routes = unchanged.routes;
  const notes: string[] = [];
  for (const group of session.groups ?? []) {
    if (group.type.toUpperCase() !== 'BUNDLE') continue;
    const mids = String(group.mids).split(/\s+/).filter(Boolean);
    const tagIndex = findTag(media, mids);
    if (tagIndex === undefined) continue;
    const tag = media[tagIndex]!;
    const tagMid = String(tag.mid);
    const t = transportOf(session, tag);
    routes.set(tagMid, { tagMid, tagIndex, tagUfrag: t.ufrag, foreign: false });
    for (const mid of mids) {
      const i = media.findIndex((m) => String(m.mid) === mid);
      if (i < 0 || i === tagIndex) continue;
      const m = media[i]!;
      if (m.port === 0 && !m.bundleOnly) continue; // rejected or disabled (§7.3.3, §7.5.3): not ours to revive
      const own = transportOf(session, m);
      const hasOwn = m.iceUfrag !== undefined || m.icePwd !== undefined;
      const foreign = hasOwn && !sameTransport(own, t);
      routes.set(mid, { tagMid, tagIndex, tagUfrag: t.ufrag, foreign });
      if (m.port === 0) {
        // §6, §7.3: bundle-only. It shares the tag's transport; werift would take port 0 for "rejected".
        m.port = tag.port;
        delete m.bundleOnly;
        copyTransport(m, t, tag);
        notes.push(`mid ${mid}: bundle-only section joined to the transport of mid ${tagMid}`);
      } else if (!sameTransport(own, t)) {
        // §7.1.3/§7.4: the tag's BUNDLE attributes apply to every bundled section; this section's own transport,
        // and the candidates gathered for it (another ICE agent: other credentials), are not used.
        let dropped = 0;
        if (foreign) {
          dropped = m.candidates?.length ?? 0;
          delete m.candidates;
          if (tag.endOfCandidates) m.endOfCandidates = tag.endOfCandidates;
          else delete m.endOfCandidates;
        }
        copyTransport(m, t, tag);
        notes.push(`mid ${mid}: own ICE/DTLS transport replaced by that of mid ${tagMid}${dropped ? `, ${dropped} candidate(s) of the unused transport dropped` : ''}`);
      }
    }
  }
  if (notes.length === 0) return unchanged;
  return { ...unchanged, sdp: sdpTransform.write(session), changed: true, notes };
}

/**
 * Where a trickled remote candidate goes (RFC 8843 §10): to the tagged section when it was trickled for another
 * bundled section; nowhere (undefined) when it belongs to a section's own, unused transport or names another ufrag.
 * Candidates outside any BUNDLE group, and end-of-candidates, pass unchanged.
 */
export function routeCandidate<C extends CandidateInit>(desc: Pick<NormalizedDescription, 'routes' | 'mids'>, c: C): C | undefined {
  if (!c.candidate) return c;
  const mid = c.sdpMid ?? (typeof c.sdpMLineIndex === 'number' ? desc.mids[c.sdpMLineIndex] : undefined);
  const route = mid === undefined || mid === null ? undefined : desc.routes.get(mid);
  if (!route) return c;
  if (route.foreign) return undefined;
  const ufrag = candidateExtension(c.candidate, 'ufrag');
  if (ufrag !== undefined && route.tagUfrag !== undefined && ufrag !== route.tagUfrag) return undefined;
  if (mid === route.tagMid) return c;
  return { ...c, sdpMid: route.tagMid, sdpMLineIndex: route.tagIndex };
}

// -------------------------------------------------------------------------------------------------------------------
// Per connection: the remote description last applied decides where its trickled candidates go.

const applied = new WeakMap<object, NormalizedDescription>();

/** Normalise a remote description about to be applied to `pc`, and remember its routes for its candidates. */
export function bundleRemoteDescription(pc: object, sdp: string): string {
  const n = normalizeBundle(sdp);
  applied.set(pc, n);
  return n.sdp;
}

/** Route a remote candidate for `pc` (see routeCandidate); unchanged when no description was normalised yet. */
export function bundleRemoteCandidate<C extends CandidateInit>(pc: object, c: C): C | undefined {
  const n = applied.get(pc);
  return n ? routeCandidate(n, c) : c;
}
