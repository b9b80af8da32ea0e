/**
 * src/rtc/sdp-bundle.ts on raw SDP captured from independent stacks (fixtures/sdp/generate-interop.ts), and what a
 * real werift RTCPeerConnection does with the result. RFC 8843 section numbers are cited above each case.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import sdpTransform from 'sdp-transform';
import type { RTCPeerConnection } from 'werift';
import { normalizeBundle, routeCandidate } from '../../src/rtc/sdp-bundle.js';
import { createPeerConnection } from '../../src/rtc/peer-connection.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/sdp/${name}`, import.meta.url), 'utf8');
const ice = { iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' };
const sections = (sdp: string) => sdpTransform.parse(sdp).media;

/** Remote candidates werift put on the ICE transport(s) of `pc`, as "address:port". */
function remoteCandidates(pc: RTCPeerConnection): string[] {
  return pc.iceTransports.flatMap((t) => t.connection.remoteCandidates.map((c) => `${c.host}:${c.port}`));
}

/** Answer `offer` with a werift peer set up like record (max-bundle), returning the answer and the peer. */
async function weriftAnswer(offer: string): Promise<{ pc: RTCPeerConnection; answer: string }> {
  const pc = await createPeerConnection(ice, { bundlePolicy: 'max-bundle' });
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  return { pc, answer: pc.localDescription!.sdp };
}

describe('normalizeBundle: offers with per-section ICE credentials (aiortc 1.4)', () => {
  const offer = fixture('aiortc-offer.sdp');

  it('gives every bundled section the tag\'s transport and drops the candidates of the unused one (§7.1.3, §7.4)', () => {
    const before = sections(offer);
    expect(before[0]!.iceUfrag).not.toBe(before[1]!.iceUfrag); // the case: two ICE agents
    const n = normalizeBundle(offer);
    expect(n.changed).toBe(true);
    const after = sections(n.sdp);
    expect(after[1]).toMatchObject({ iceUfrag: before[0]!.iceUfrag, icePwd: before[0]!.icePwd, setup: before[0]!.setup });
    expect(after[1]!.fingerprint).toEqual(before[0]!.fingerprint);
    expect(after[0]!.candidates).toEqual(before[0]!.candidates);
    expect(after[1]!.candidates).toBeUndefined();
    expect(n.routes.get('1')).toEqual({ tagMid: '0', tagIndex: 0, tagUfrag: before[0]!.iceUfrag, foreign: true });
    expect(n.notes).toEqual([`mid 1: own ICE/DTLS transport replaced by that of mid 0, 1 candidate(s) of the unused transport dropped`]);
    // Everything that is not transport is kept: codecs, directions, mids, ssrcs.
    expect(after.map((m) => [m.type, m.mid, m.direction, m.rtp.length, m.ssrcs?.length])).toEqual(before.map((m) => [m.type, m.mid, m.direction, m.rtp.length, m.ssrcs?.length]));
  });

  it('werift then checks only the tagged transport\'s candidate', async () => {
    const [tag, other] = sections(offer).map((m) => String(m.candidates![0]!.port));
    // As captured, werift 0.25 happens to ignore the other section's candidate: the tag comes first and its
    // a=end-of-candidates closes werift's remote list. An offerer that trickles (no end-of-candidates yet) gets
    // both checked, the other agent's port with the tag's credentials, which can only fail.
    const trickling = offer.replace(/a=end-of-candidates\r\n/g, '');
    const raw = await weriftAnswer(trickling);
    const fixed = await weriftAnswer(normalizeBundle(trickling).sdp);
    const asIs = await weriftAnswer(normalizeBundle(offer).sdp);
    try {
      expect(remoteCandidates(raw.pc).map((c) => c.split(':').at(-1))).toEqual([tag, other]);
      expect(remoteCandidates(fixed.pc).map((c) => c.split(':').at(-1))).toEqual([tag]);
      expect(remoteCandidates(asIs.pc).map((c) => c.split(':').at(-1))).toEqual([tag]);
      // Both sections are accepted and bundled.
      expect(asIs.answer).toMatch(/a=group:BUNDLE 0 1/);
      expect(sections(asIs.answer).map((m) => m.port)).not.toContain(0);
    } finally {
      for (const x of [raw, fixed, asIs]) await x.pc.close();
    }
  });

  it('drops a candidate trickled for the non-tagged section (its own agent) and keeps the tag\'s (§10)', () => {
    const n = normalizeBundle(offer);
    const c = 'candidate:1 1 udp 2130706431 198.18.0.1 40000 typ host';
    expect(routeCandidate(n, { candidate: c, sdpMid: '1', sdpMLineIndex: 1 })).toBeUndefined();
    expect(routeCandidate(n, { candidate: c, sdpMid: null, sdpMLineIndex: 1 })).toBeUndefined();
    expect(routeCandidate(n, { candidate: c, sdpMid: '0', sdpMLineIndex: 0 })).toEqual({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
  });
});

describe('normalizeBundle: bundle-only sections (GStreamer webrtcbin, max-bundle)', () => {
  const offer = fixture('webrtcbin-offer.sdp');

  it('turns the bundle-only port-0 section into a bundled one on the tag\'s transport (§6, §7.2)', () => {
    expect(sections(offer)[1]).toMatchObject({ port: 0, bundleOnly: 'bundle-only' });
    const n = normalizeBundle(offer);
    expect(n.changed).toBe(true);
    const audio = sections(n.sdp)[1]!;
    expect(audio.port).toBe(sections(offer)[0]!.port);
    expect(audio.bundleOnly).toBeUndefined();
    expect(n.notes).toEqual(['mid audio1: bundle-only section joined to the transport of mid video0']);
  });

  it('werift answers the audio section with port 0 without it (a tripwire: if this fails, werift learned bundle-only) and accepts it with it', async () => {
    const raw = await weriftAnswer(offer);
    const fixed = await weriftAnswer(normalizeBundle(offer).sdp);
    try {
      expect(sections(raw.answer)[1]!.port).toBe(0);
      expect(sections(fixed.answer)[1]!.port).not.toBe(0);
      expect(fixed.answer).toMatch(/a=group:BUNDLE video0 audio1/);
      expect(fixed.pc.getTransceivers().map((t) => [t.mid, t.kind, t.currentDirection])).toEqual([
        ['video0', 'video', 'recvonly'],
        ['audio1', 'audio', 'recvonly'],
      ]);
    } finally {
      await raw.pc.close();
      await fixed.pc.close();
    }
  });

  it('routes the candidates webrtcbin really trickled (all for m-line 0) unchanged, and one for audio1 to video0', () => {
    const n = normalizeBundle(offer);
    const trickled = JSON.parse(fixture('webrtcbin-candidates.json')) as [number, string][];
    expect(trickled.length).toBeGreaterThan(0);
    for (const [index, candidate] of trickled) {
      expect(routeCandidate(n, { candidate, sdpMid: null, sdpMLineIndex: index })).toEqual({ candidate, sdpMid: null, sdpMLineIndex: index });
    }
    const c = trickled[0]![1];
    expect(routeCandidate(n, { candidate: c, sdpMid: 'audio1', sdpMLineIndex: 1 })).toEqual({ candidate: c, sdpMid: 'video0', sdpMLineIndex: 0 });
    // A candidate naming another ufrag (RFC 8840 §9.1: Chromium and werift add it) belongs to another transport.
    expect(routeCandidate(n, { candidate: `${c} generation 0 ufrag nope`, sdpMid: 'video0', sdpMLineIndex: 0 })).toBeUndefined();
  });
});

describe('normalizeBundle: answers', () => {
  /**
   * An answer as RFC 8843 §7.3 writes it: the answerer-tagged section carries the transport, every other bundled
   * section has port 0, `a=bundle-only` and no transport attributes (§7.1.3). No stack on this machine answers this
   * way (werift, aiortc, webrtcbin and Chromium repeat the transport in every section), so it is derived from a werift
   * answer by exactly those rules.
   */
  function strictAnswer(answer: string): string {
    const s = sdpTransform.parse(answer);
    for (const m of s.media.slice(1)) {
      m.port = 0;
      m.bundleOnly = 'bundle-only';
      for (const k of ['iceUfrag', 'icePwd', 'iceOptions', 'fingerprint', 'setup', 'candidates', 'endOfCandidates'] as const) delete m[k];
    }
    return sdpTransform.write(s);
  }

  it('a werift offerer keeps every section of an RFC 8843 §7.3 answer (without: the bundle-only one is stopped)', async () => {
    const run = async (normalize: boolean): Promise<(string | undefined | null)[][]> => {
      const a = await createPeerConnection(ice, { bundlePolicy: 'max-bundle' });
      const b = await createPeerConnection(ice, { bundlePolicy: 'max-bundle' });
      try {
        a.addTransceiver('video', { direction: 'recvonly' });
        a.addTransceiver('audio', { direction: 'recvonly' });
        await a.setLocalDescription(await a.createOffer());
        await b.setRemoteDescription(a.localDescription!);
        await b.setLocalDescription(await b.createAnswer());
        const answer = strictAnswer(b.localDescription!.sdp);
        await a.setRemoteDescription({ type: 'answer', sdp: normalize ? normalizeBundle(answer).sdp : answer });
        return a.getTransceivers().map((t) => [t.mid, t.kind, t.currentDirection]);
      } finally {
        await a.close();
        await b.close();
      }
    };
    expect(await run(false)).toContainEqual(['1', 'audio', 'stopped']);
    expect((await run(true)).map((t) => t[2])).not.toContain('stopped');
  });

  it.each(['aiortc-answer.sdp', 'werift-answer.sdp', 'werift-offer.sdp', 'chromium-offer.sdp'])('%s needs nothing and is returned byte for byte', (name) => {
    const sdp = fixture(name);
    const n = normalizeBundle(sdp);
    expect(n.changed).toBe(false);
    expect(n.sdp).toBe(sdp);
    expect(n.notes).toEqual([]);
  });

  it('keeps a trickled candidate whose ufrag is all digits (sdp-transform parses a=ice-ufrag:9117 as a number)', () => {
    // werift's 4-hex-digit ufrags are all digits about one time in seven: this dropped the only relay candidate.
    const sdp = fixture('werift-answer.sdp').replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:9117');
    const c = 'candidate:1 1 udp 16777215 127.0.0.1 50095 typ relay raddr 127.0.0.1 rport 59952 generation 0 ufrag 9117';
    expect(routeCandidate(normalizeBundle(sdp), { candidate: c, sdpMid: '0', sdpMLineIndex: 0 })).toEqual({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
    expect(routeCandidate(normalizeBundle(sdp), { candidate: c.replace('9117', '9118'), sdpMid: '0', sdpMLineIndex: 0 })).toBeUndefined();
  });

  it('remaps a candidate trickled for any bundled mid of a one-credential description to the tag (§10)', () => {
    const n = normalizeBundle(fixture('aiortc-answer.sdp'));
    const c = 'candidate:9 1 udp 2130706431 198.18.0.1 40000 typ host';
    expect(routeCandidate(n, { candidate: c, sdpMid: '2', sdpMLineIndex: 2 })).toEqual({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
  });
});

describe('normalizeBundle: input it must leave alone', () => {
  it('never throws on garbage and returns it unchanged', () => {
    for (const s of ['', 'garbage', 'v=0\r\na=group:BUNDLE 0 1\r\n', 'v=0\r\nm=audio 0 RTP/AVP 0\r\na=mid:0\r\n']) {
      expect(normalizeBundle(s)).toMatchObject({ sdp: s, changed: false });
    }
  });

  it('leaves a rejected section (port 0 without bundle-only, §7.3.3) rejected', () => {
    const s = sdpTransform.parse(fixture('aiortc-offer.sdp'));
    s.media[1]!.port = 0;
    s.media[1]!.iceUfrag = s.media[0]!.iceUfrag;
    s.media[1]!.icePwd = s.media[0]!.icePwd;
    const sdp = sdpTransform.write(s);
    expect(sections(normalizeBundle(sdp).sdp)[1]!.port).toBe(0);
  });

  it('passes candidates outside any BUNDLE group, and end-of-candidates, unchanged', () => {
    const n = normalizeBundle(fixture('aiortc-offer.sdp'));
    expect(routeCandidate(n, { candidate: 'candidate:1 1 udp 1 10.0.0.1 1 typ host', sdpMid: 'x', sdpMLineIndex: 7 })).toMatchObject({ sdpMid: 'x' });
    expect(routeCandidate(n, { candidate: '', sdpMid: '1', sdpMLineIndex: 1 })).toEqual({ candidate: '', sdpMid: '1', sdpMLineIndex: 1 });
  });
});
