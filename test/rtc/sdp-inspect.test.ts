/**
 * `inspectSdp` / `inspectSdpPair` and their renderings, called in-process (test/commands/sdp.test.ts drives the
 * same code through the real binary). Every field and warning is asserted exactly, so a changed decision shows up
 * here: this file is what kills the mutants of src/rtc/sdp-inspect.ts (`npm run test:mutation`, README Development).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { RtcError } from '../../src/errors.js';
import { encodeManualLine } from '../../src/rtc/manual-signal.js';
import {
  extractSdp,
  formatSdpPairReport,
  formatSdpReport,
  inspectSdp,
  inspectSdpPair,
  type SdpReport,
} from '../../src/rtc/sdp-inspect.js';

const FIX = fileURLToPath(new URL('../../fixtures/sdp/', import.meta.url));
const weriftOffer = readFileSync(`${FIX}werift-offer.sdp`, 'utf8');
const weriftAnswer = readFileSync(`${FIX}werift-answer.sdp`, 'utf8');
const chromiumOffer = readFileSync(`${FIX}chromium-offer.sdp`, 'utf8');

/** The hint every refusal of sdp-inspect itself carries (a manual line's own errors carry theirs). */
const HINT = 'give a complete SDP (starting with v=0), a {"type","sdp"} JSON object, or an rtc1.offer/answer line';

const FP = 'sha-256 F8:1A:03:82:7B:07:E9:96:0C:B4:29:EE:50:8E:FB:94:6D:E9:7B:A4:26:15:60:AD:95:EE:E4:19:7E:31:FF:DD';
const FP_VALUE = FP.slice('sha-256 '.length);

/** A session head (v/o/s/t plus `session` lines) and media sections, joined with CRLF as RFC 8866 §5 writes them. */
function sdp(session: string[], ...media: string[][]): string {
  return [['v=0', 'o=- 42 7 IN IP4 192.0.2.1', 's=-', 't=0 0', ...session], ...media].flat().join('\r\n') + '\r\n';
}

/** An audio section with everything WebRTC needs; `extra` lines are appended. */
function audio(mid: string, extra: string[] = [], port = 9): string[] {
  return [
    `m=audio ${port} UDP/TLS/RTP/SAVPF 111`,
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:0123456789abcdef012345',
    `a=fingerprint:${FP}`,
    `a=mid:${mid}`,
    'a=rtpmap:111 opus/48000/2',
    ...extra,
  ];
}

/** `hint` null: the error has no hint. */
function expectBadSdp(input: string, message: RegExp, hint: string | null = HINT): RtcError {
  let err: unknown;
  try {
    inspectSdp(input);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(RtcError);
  expect((err as RtcError).code).toBe('RTC_ERR_BAD_SDP');
  expect((err as RtcError).message).toMatch(message);
  expect((err as RtcError).hint).toBe(hint ?? undefined);
  return err as RtcError;
}

describe('inspectSdp on a werift offer', () => {
  // Inspected inside each test, not once at collection time: Stryker's per-test coverage only sees calls made in a test.
  let r: SdpReport;
  beforeEach(() => {
    r = inspectSdp(weriftOffer);
  });

  it('reports the session: type from a=setup:actpass, origin, BUNDLE, no ICE lite', () => {
    expect(r.type).toBe('offer');
    expect(r.origin).toEqual({ sessionId: '13916625', sessionVersion: 0, address: '0.0.0.0' });
    expect(r.bundle).toEqual(['0', '1', '2']);
    expect(r.iceLite).toBe(false);
    expect(r.warnings).toEqual([
      'only host candidates on loopback/private/mDNS addresses: a peer outside this network cannot reach them without STUN (srflx) or TURN (relay)',
    ]);
  });

  it('reports an audio section field by field', () => {
    const candidate = { mid: '0', foundation: '626da4e5384a0ce2d0d93678a', component: 1, protocol: 'udp', priority: 2116026367, address: '127.0.0.1', port: 54720, type: 'host' };
    expect(r.sections[0]).toEqual({
      index: 0,
      kind: 'audio',
      mid: '0',
      direction: 'sendrecv',
      port: 9,
      protocol: 'UDP/TLS/RTP/SAVPF',
      rejected: false,
      codecs: [
        { payloadType: 96, name: 'OPUS', clockRate: 48000, channels: 2, fmtp: null, rtcpFb: [] },
        { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: null, fmtp: null, rtcpFb: [] },
      ],
      headerExtensions: [],
      ice: { ufrag: 'd94c', pwd: true, options: 'trickle' },
      dtls: { fingerprint: { hash: 'sha-256', value: FP_VALUE }, setup: 'actpass' },
      rtcpMux: true,
      ssrcs: [99633144],
      candidates: [candidate],
      endOfCandidates: true,
    });
    expect(r.candidates.map((c) => [c.mid, c.port])).toEqual([
      ['0', 54720],
      ['1', 45398],
      ['2', 37496],
    ]);
  });

  it('reports the data channel section with no direction and its SCTP port and max-message-size', () => {
    const d = r.sections[2]!;
    expect(d).toMatchObject({ index: 2, kind: 'application', mid: '2', direction: null, protocol: 'UDP/DTLS/SCTP', codecs: [], rtcpMux: false, ssrcs: [] });
    expect(d.sctp).toEqual({ port: 5000, maxMessageSize: 65536 });
    expect(r.sections[0]!.sctp).toBeUndefined();
    expect(r.sections[1]!.codecs[0]!.rtcpFb).toEqual(['nack', 'nack pli', 'goog-remb']);
  });

  it('renders every section, codec, transport line, candidate and warning', () => {
    const section = (m: string, lines: string[], port: number): string[] => [
      '',
      m,
      ...lines,
      `    ICE ufrag d94c, options trickle; DTLS setup actpass, fingerprint ${FP}`,
      `    candidate host udp 127.0.0.1:${port} priority 2116026367`,
      '    end-of-candidates',
    ];
    expect(formatSdpReport(r)).toBe(
      [
        'SDP: offer, BUNDLE 0 1 2',
        ...section('  m=audio mid=0 sendrecv UDP/TLS/RTP/SAVPF port 9', ['     96 OPUS/48000/2', '      0 PCMU/8000'], 54720),
        ...section('  m=video mid=1 sendonly UDP/TLS/RTP/SAVPF port 9', ['     98 VP8/90000  rtcp-fb nack, nack pli, goog-remb'], 45398),
        ...section('  m=application mid=2 UDP/DTLS/SCTP port 9', ['    SCTP port 5000, max-message-size 65536'], 37496),
        '',
        '  warning: only host candidates on loopback/private/mDNS addresses: a peer outside this network cannot reach them without STUN (srflx) or TURN (relay)',
      ].join('\n'),
    );
  });
});

describe('inputs: raw SDP, JSON, manual lines; syntax errors', () => {
  const raw = sdp([], audio('0', ['a=setup:actpass']));

  it('takes a raw SDP with a byte-order mark and surrounding blank space', () => {
    expect(extractSdp(`\uFEFF \n${raw}\n\n`)).toEqual({ sdp: raw.trim() });
    expect(inspectSdp(`\uFEFF${raw}`).sections).toHaveLength(1);
    // Only a leading byte-order mark is dropped: one inside the text is content, left as it is.
    const inner = raw.replace('s=-', 's=\uFEFF-');
    expect(extractSdp(inner)).toEqual({ sdp: inner.trim() });
  });

  it('reads a raw SDP that merely contains "rtc1." (e.g. in its session name) as a raw SDP, not a manual line', () => {
    const named = raw.replace('s=-', 's=rtc1.offer');
    expect(extractSdp(named)).toEqual({ sdp: named.trim() });
    expect(inspectSdp(named).type).toBe('offer');
  });

  it('takes a JSON RTCSessionDescription; its type wins over a=setup, an unknown type is ignored', () => {
    expect(extractSdp(JSON.stringify({ type: 'answer', sdp: raw }))).toEqual({ sdp: raw, type: 'answer' });
    expect(extractSdp(JSON.stringify({ type: 'offer', sdp: raw }))).toEqual({ sdp: raw, type: 'offer' });
    expect(extractSdp(JSON.stringify({ type: 'pranswer', sdp: raw }))).toEqual({ sdp: raw, type: undefined });
    expect(inspectSdp(JSON.stringify({ type: 'answer', sdp: raw })).type).toBe('answer');
  });

  it('takes an rtc-cli manual line with its type', () => {
    const line = encodeManualLine({ type: 'answer', sdp: raw });
    expect(extractSdp(line)).toEqual({ sdp: raw, type: 'answer' });
    expect(inspectSdp(line).type).toBe('answer');
  });

  it('refuses empty input, broken JSON and JSON without an "sdp" string, with RTC_ERR_BAD_SDP', () => {
    expectBadSdp(' \n\t ', /^the input is empty$/);
    // JSON that does not parse keeps the parser's error as the cause (shown with --verbose); no generic hint.
    const broken = expectBadSdp('{"type":"offer",', /^the input looks like JSON but does not parse$/, null);
    expect(broken.cause).toBeInstanceOf(SyntaxError);
    expectBadSdp('{"type":"offer"}', /^the JSON has no "sdp" string$/);
    expectBadSdp('{"type":"offer","sdp":42}', /^the JSON has no "sdp" string$/);
    expectBadSdp('null', /^line 1 must be "v=0" \(got "null"\)$/);
  });

  it('checks the line syntax: v=0 first, <letter>=<value> lines, o= and s= present', () => {
    expectBadSdp('v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n', /^line 1 must be "v=0" \(got "v=1"\)$/);
    expectBadSdp(`v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n\r\nt=0 0\r\n`, /^line 4 is not "<letter>=<value>": ""$/);
    expectBadSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nA=x\r\n', /^line 4 is not "<letter>=<value>": "A=x"$/);
    // The type letter starts the line: an indented line (pasted from an indented log) is refused too.
    expectBadSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n a=x\r\n', /^line 4 is not "<letter>=<value>": " a=x"$/);
    // Quoted lines are cut (40 characters of line 1, 60 of others), so a pasted binary blob cannot flood the terminal.
    expectBadSdp(`v=${'1'.repeat(100)}\r\n`, new RegExp(`^line 1 must be "v=0" \\(got "v=${'1'.repeat(38)}"\\)$`));
    expectBadSdp(`v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n${'x'.repeat(100)}\r\n`, new RegExp(`^line 3 is not "<letter>=<value>": "${'x'.repeat(60)}"$`));
    expectBadSdp('v=0\r\ns=-\r\nt=0 0\r\n', /no o= or s= line/);
    expectBadSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n', /no o= or s= line/);
    // LF-only line ends are accepted, as browsers' devtools sometimes copy them.
    expect(inspectSdp(raw.replace(/\r\n/g, '\n')).sections[0]!.mid).toBe('0');
  });
});

describe('what an SDP is taken for, and its warnings', () => {
  it('guesses the type from a=setup: actpass offer, active/passive answer, none unknown', () => {
    expect(inspectSdp(sdp([], audio('0', ['a=setup:actpass']))).type).toBe('offer');
    expect(inspectSdp(sdp([], audio('0', ['a=setup:passive']))).type).toBe('answer');
    expect(inspectSdp(sdp([], audio('0'))).type).toBe('unknown');
  });

  it('warns about no m= sections', () => {
    const r = inspectSdp(sdp([]));
    expect(r.sections).toEqual([]);
    expect(r.warnings).toEqual(['no m= sections: nothing would be negotiated']);
  });

  it('warns per section: no fingerprint, no ICE credentials, actpass in an answer, no codecs, outside BUNDLE', () => {
    const bare = ['m=video 9 UDP/TLS/RTP/SAVPF', 'c=IN IP4 0.0.0.0', 'a=mid:v', 'a=setup:actpass'];
    const text = JSON.stringify({ type: 'answer', sdp: sdp(['a=group:BUNDLE a'], audio('a', ['a=setup:active']), bare) });
    const r = inspectSdp(text);
    expect(r.warnings).toEqual([
      'm=video (mid v) has no a=fingerprint: WebRTC requires DTLS (RFC 8827 §6.5); the peer will refuse it',
      'm=video (mid v) has no a=ice-ufrag/a=ice-pwd: ICE cannot run (RFC 8839 §5.4)',
      'm=video (mid v): an answer must say a=setup:active or passive, not actpass (RFC 8842 §5.3)',
      'm=video (mid v) lists no codecs',
      'm=video (mid v) is not in the BUNDLE group: it needs its own transport',
      'no ICE candidates: fine for trickle ICE over a signaling server, but a copy/paste exchange needs the SDP taken after gathering completed',
    ]);
  });

  it('a ufrag without a pwd (or the reverse) is not enough for ICE; a section without a mid is labelled "?"', () => {
    const noPwd = ['m=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=ice-ufrag:abcd', `a=fingerprint:${FP}`, 'a=rtpmap:0 PCMU/8000'];
    const noUfrag = ['m=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=ice-pwd:0123456789abcdef012345', `a=fingerprint:${FP}`, 'a=rtpmap:0 PCMU/8000'];
    const r = inspectSdp(sdp(['a=group:BUNDLE 0'], noPwd, noUfrag));
    expect(r.sections.map((x) => [x.mid, x.ice])).toEqual([
      [null, { ufrag: 'abcd', pwd: false, options: null }],
      [null, { ufrag: null, pwd: true, options: null }],
    ]);
    const ice = 'm=audio (mid ?) has no a=ice-ufrag/a=ice-pwd: ICE cannot run (RFC 8839 §5.4)';
    // Sections without a mid are not reported as outside BUNDLE (there is nothing to look up).
    expect(r.warnings.filter((w) => w.startsWith('m='))).toEqual([ice, ice]);
  });

  it('the offer with actpass, an answer in BUNDLE with its candidates: no section warnings', () => {
    const cand = 'a=candidate:1 1 udp 2122260223 203.0.113.7 50000 typ host';
    const offer = inspectSdp(sdp(['a=group:BUNDLE 0'], audio('0', ['a=setup:actpass', cand])));
    expect(offer.warnings).toEqual([]);
    const answer = inspectSdp(JSON.stringify({ type: 'answer', sdp: sdp(['a=group:BUNDLE 0'], audio('0', ['a=setup:passive', cand])) }));
    expect(answer.warnings).toEqual([]);
  });

  it('takes the BUNDLE group among other groups, and reads runs of spaces in it as one', () => {
    const two = [audio('0', ['a=setup:actpass']), audio('1', ['a=setup:actpass'])] as const;
    // RFC 5888 groups of another semantics (LS: lip sync) are not BUNDLE, even listed first.
    expect(inspectSdp(sdp(['a=group:LS 0 1', 'a=group:BUNDLE 0'], ...two)).bundle).toEqual(['0']);
    const ls = inspectSdp(sdp(['a=group:LS 0 1'], ...two));
    expect(ls.bundle).toBeNull();
    expect(ls.warnings.filter((w) => /BUNDLE/.test(w))).toEqual([]);
    expect(inspectSdp(sdp(['a=group:BUNDLE 0  1'], ...two)).bundle).toEqual(['0', '1']);
  });

  it('skips rejected sections (port 0) in every check, including "no ICE candidates"', () => {
    const r = inspectSdp(sdp(['a=group:BUNDLE 0'], ['m=video 0 UDP/TLS/RTP/SAVPF 0', 'a=mid:9']));
    expect(r.sections[0]).toMatchObject({ rejected: true, port: 0 });
    expect(r.warnings).toEqual([]);
  });

  it('falls back to session-level ICE, fingerprint, setup and direction', () => {
    const session = ['a=ice-ufrag:sess', 'a=ice-pwd:0123456789abcdef012345', 'a=ice-options:trickle', `a=fingerprint:${FP}`, 'a=setup:passive', 'a=recvonly'];
    const r = inspectSdp(sdp(session, ['m=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0', 'a=rtpmap:0 PCMU/8000']));
    expect(r.sections[0]).toMatchObject({
      direction: 'recvonly',
      ice: { ufrag: 'sess', pwd: true, options: 'trickle' },
      dtls: { fingerprint: { hash: 'sha-256', value: FP_VALUE }, setup: 'passive' },
    });
    expect(r.type).toBe('answer');
    // With neither, a media section is sendrecv (RFC 8866 §6.7) and has no setup.
    const plain = inspectSdp(sdp([], audio('0')));
    expect(plain.sections[0]).toMatchObject({ direction: 'sendrecv', dtls: { setup: null }, ice: { options: null } });
  });

  it('says which host candidates are local-only (loopback, RFC 1918, link-local, CGNAT, ULA, mDNS)', () => {
    const onlyLocal = (address: string): boolean => {
      const r = inspectSdp(sdp([], audio('0', ['a=setup:actpass', `a=candidate:1 1 udp 2122260223 ${address} 50000 typ host`])));
      return r.warnings.some((w) => w.startsWith('only host candidates'));
    };
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.2', '169.254.9.9', '172.16.0.1', '172.20.0.1', '172.31.255.1', '100.64.0.1', '100.99.0.1', '100.110.0.1', '100.127.255.1', '::1', 'fe80::1', 'FE80::2', 'fc00::1', 'fd12::1', '4b5a0b8c-0f4e-4f2c-9b3a-1c2d3e4f5a6b.local']) {
      expect(onlyLocal(a), a).toBe(true);
    }
    for (const a of ['203.0.113.7', '172.15.0.1', '172.32.0.1', '100.63.0.1', '100.128.0.1', '11.0.0.1', '2001:db8::1', 'fe81::1', '1.127.0.0', '8.10.0.1', '1.192.168.0', '1.172.16.0', '1.100.64.0']) {
      expect(onlyLocal(a), a).toBe(false);
    }
    // One public (or non-host) candidate among local ones is enough to reach outside.
    const mixed = inspectSdp(
      sdp([], audio('0', ['a=setup:actpass', 'a=candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host', 'a=candidate:2 1 udp 1686052607 10.0.0.3 50001 typ srflx raddr 10.0.0.2 rport 50000'])),
    );
    expect(mixed.warnings).toEqual([]);
  });
});

describe('what a section says: codecs, extensions, SSRCs, candidates, SCTP', () => {
  it('pairs fmtp and rtcp-fb (including "*") with their payload types, and lists header extensions', () => {
    const r = inspectSdp(
      sdp(
        [],
        [
          'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
          'a=mid:v',
          'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
          'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
          'a=rtpmap:96 VP8/90000',
          'a=rtcp-fb:* transport-cc',
          'a=rtcp-fb:96 nack pli',
          'a=rtpmap:97 rtx/90000',
          'a=fmtp:97 apt=96',
          'a=ssrc:5 cname:x',
          'a=ssrc:5 msid:a b',
          'a=ssrc:6 cname:x',
        ],
      ),
    );
    const v = r.sections[0]!;
    expect(v.codecs).toEqual([
      { payloadType: 96, name: 'VP8', clockRate: 90000, channels: null, fmtp: null, rtcpFb: ['transport-cc', 'nack pli'] },
      { payloadType: 97, name: 'rtx', clockRate: 90000, channels: null, fmtp: 'apt=96', rtcpFb: ['transport-cc'] },
    ]);
    expect(v.headerExtensions).toEqual([
      { id: 2, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' },
      { id: 4, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    ]);
    expect(v.ssrcs).toEqual([5, 6]);
    expect(v).toMatchObject({ rtcpMux: false, endOfCandidates: false });
  });

  it('reads every candidate field: related address and port, TCP type, transport in lower case', () => {
    const r = inspectSdp(
      sdp(
        [],
        audio('0', [
          'a=candidate:7 1 UDP 1686052607 203.0.113.9 61000 typ srflx raddr 10.0.0.2 rport 50000',
          'a=candidate:8 2 tcp 1518280447 10.0.0.2 9 typ host tcptype active',
        ]),
      ),
    );
    expect(r.candidates).toEqual([
      { mid: '0', foundation: '7', component: 1, protocol: 'udp', priority: 1686052607, address: '203.0.113.9', port: 61000, type: 'srflx', relatedAddress: '10.0.0.2', relatedPort: 50000 },
      { mid: '0', foundation: '8', component: 2, protocol: 'tcp', priority: 1518280447, address: '10.0.0.2', port: 9, type: 'host', tcpType: 'active' },
    ]);
  });

  it('leaves out a candidate line whose fields are out of range (component 0, priority above 2^31 - 1)', () => {
    const outOfRange = ['a=candidate:1 0 udp 2122260223 203.0.113.7 50000 typ host', 'a=candidate:2 1 udp 4294967295 203.0.113.7 50001 typ host'];
    const r = inspectSdp(sdp([], audio('0', ['a=setup:actpass', ...outOfRange])));
    expect(r.sections[0]!.candidates).toEqual([]);
    expect(r.candidates).toEqual([]);
    expect(r.warnings).toEqual(['no ICE candidates: fine for trickle ICE over a signaling server, but a copy/paste exchange needs the SDP taken after gathering completed']);
  });

  it('reads the legacy a=sctpmap port, a missing SCTP port and max-message-size as null, and a=ice-lite', () => {
    const legacy = ['m=application 9 DTLS/SCTP 5000', 'a=mid:d', 'a=sctpmap:5000 webrtc-datachannel 1024'];
    const bare = ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:e'];
    const r = inspectSdp(sdp(['a=ice-lite'], legacy, bare));
    expect(r.iceLite).toBe(true);
    expect(r.sections.map((x) => x.sctp)).toEqual([
      { port: 5000, maxMessageSize: null },
      { port: null, maxMessageSize: null },
    ]);
    expect(r.sections.map((x) => x.direction)).toEqual([null, null]);
    // Data channels need no codecs.
    expect(r.warnings.some((w) => /lists no codecs/.test(w))).toBe(false);
  });
});

describe('inspectSdpPair', () => {
  const offerOf = (...media: string[][]): string => sdp([], ...media);
  const answerOf = (...media: string[][]): string => JSON.stringify({ type: 'answer', sdp: sdp([], ...media) });
  const av = (mid: string, rtpmaps: string[], extra: string[] = [], port = 9): string[] => [
    `m=video ${port} UDP/TLS/RTP/SAVPF ${rtpmaps.map((_, i) => 96 + i).join(' ')}`,
    `a=mid:${mid}`,
    ...rtpmaps.map((c, i) => `a=rtpmap:${96 + i} ${c}`),
    ...extra,
  ];

  it('the werift offer and answer agree, rendered with the negotiation', () => {
    const p = inspectSdpPair(weriftOffer, weriftAnswer);
    expect(p.warnings).toEqual([]);
    expect(p.negotiation).toEqual([
      { index: 0, mid: '0', kind: 'audio', common: ['opus/48000/2', 'pcmu/8000'], rejected: false },
      { index: 1, mid: '1', kind: 'video', common: ['vp8/90000'], rejected: false },
      { index: 2, mid: '2', kind: 'application', common: [], rejected: false },
    ]);
    const text = formatSdpPairReport(p);
    expect(text.startsWith(`${formatSdpReport(p.offer, 'offer')}\n\n${formatSdpReport(p.answer, 'answer')}\n\nnegotiation:\n`)).toBe(true);
    expect(text.endsWith(['negotiation:', '  m=audio mid=0: common opus/48000/2, pcmu/8000', '  m=video mid=1: common vp8/90000', '  m=application mid=2: data channel'].join('\n'))).toBe(true);
  });

  it('says when the two are given the wrong way round', () => {
    const p = inspectSdpPair(weriftAnswer, weriftOffer);
    expect(p.warnings.slice(0, 2)).toEqual([
      'the first SDP looks like an answer (a=setup is not actpass): give the offer first',
      'the second SDP looks like an offer (a=setup:actpass): give the answer second',
    ]);
  });

  it('matches codecs by name, clock rate and channels (not payload type), and ignores auxiliary codecs', () => {
    const offer = offerOf(av('v', ['VP8/90000', 'rtx/90000', 'opus/48000/2', 'L16/8000/1']));
    const answer = answerOf(['m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 103', 'a=mid:v', 'a=rtpmap:100 vp8/90000', 'a=rtpmap:101 RTX/90000', 'a=rtpmap:102 opus/48000/1', 'a=rtpmap:103 L16/8000']);
    const p = inspectSdpPair(offer, answer);
    expect(p.negotiation[0]!.common).toEqual(['vp8/90000', 'rtx/90000', 'l16/8000']);
    expect(p.warnings).toEqual([]);
    // Only auxiliary codecs in common: no media can flow.
    const aux = inspectSdpPair(offerOf(av('v', ['VP8/90000', 'rtx/90000', 'red/90000'])), answerOf(av('v', ['H264/90000', 'rtx/90000', 'red/90000', 'H264/90000'])));
    expect(aux.negotiation[0]!.common).toEqual(['rtx/90000', 'red/90000']);
    expect(aux.warnings).toEqual(['m=video (mid v): no common codec between offer (VP8) and answer (H264): no media can flow']);
    expect(formatSdpPairReport(aux).split('\n').slice(-2)).toEqual(['  m=video mid=v: common rtx/90000, red/90000', `  warning: ${aux.warnings[0]}`]);
    const none = inspectSdpPair(offerOf(av('v', ['rtx/90000'])), answerOf(av('v', ['H264/90000'])));
    expect(none.warnings).toEqual(['m=video (mid v): no common codec between offer (none) and answer (H264): no media can flow']);
    expect(formatSdpPairReport(none).split('\n').slice(-2, -1)).toEqual(['  m=video mid=v: NO COMMON CODEC']);
  });

  it('a Chromium offer answered with only comfort noise, DTMF or FEC codecs: no media can flow', () => {
    const cands = ['a=candidate:1 1 udp 2122260223 203.0.113.7 50000 typ host'];
    const transport = ['c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdef012345', `a=fingerprint:${FP}`, 'a=setup:active', ...cands];
    const answer = answerOf(
      ['m=audio 9 UDP/TLS/RTP/SAVPF 13 126', ...transport, 'a=mid:0', 'a=rtpmap:13 CN/8000', 'a=rtpmap:126 telephone-event/8000'],
      ['m=video 9 UDP/TLS/RTP/SAVPF 120', ...transport, 'a=mid:1', 'a=rtpmap:120 ulpfec/90000'],
      ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', ...transport, 'a=mid:2', 'a=sctp-port:5000'],
    );
    const p = inspectSdpPair(chromiumOffer, answer);
    expect(p.negotiation.map((n) => n.common)).toEqual([['cn/8000', 'telephone-event/8000'], ['ulpfec/90000'], []]);
    expect(p.warnings).toEqual([
      'm=audio (mid 0): no common codec between offer (opus, G722, PCMU, PCMA) and answer (none): no media can flow',
      'm=video (mid 1): no common codec between offer (VP8, H264, AV1, VP9) and answer (none): no media can flow',
    ]);
    // flexfec-03 (the name browsers use for RFC 8627 FlexFEC) carries no media either.
    const flex = inspectSdpPair(offerOf(av('v', ['VP8/90000', 'flexfec-03/90000'])), answerOf(av('v', ['H264/90000', 'flexfec-03/90000'])));
    expect(flex.negotiation[0]!.common).toEqual(['flexfec-03/90000']);
    expect(flex.warnings).toEqual(['m=video (mid v): no common codec between offer (VP8) and answer (H264): no media can flow']);
  });

  it('matches a codec without a clock rate by its name; a section without a mid is "?" in warnings and "-" in the rendering', () => {
    const bare = (codec: string): string[] => ['m=video 9 UDP/TLS/RTP/SAVPF 96', `a=rtpmap:96 ${codec}`];
    const same = inspectSdpPair(offerOf(bare('VP8')), answerOf(bare('vp8')));
    expect(same.negotiation).toEqual([{ index: 0, mid: null, kind: 'video', common: ['vp8/'], rejected: false }]);
    expect(same.warnings).toEqual([]);
    const none = inspectSdpPair(offerOf(bare('VP8')), answerOf(bare('H264')));
    expect(none.warnings).toEqual(['m=video (mid ?): no common codec between offer (VP8) and answer (H264): no media can flow']);
    expect(formatSdpPairReport(none).split('\n').slice(-2, -1)).toEqual(['  m=video mid=-: NO COMMON CODEC']);
  });

  it('a data channel answered by a media section: the kind is reported, no direction is compared', () => {
    const p = inspectSdpPair(
      offerOf(['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:d']),
      answerOf(['m=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:d', 'a=rtpmap:0 PCMU/8000']),
    );
    expect(p.negotiation).toEqual([{ index: 0, mid: 'd', kind: 'application', common: [], rejected: false }]);
    expect(p.warnings).toEqual(["m=application (mid d): the answer's section 0 is m=audio"]);
  });

  it('reports a section count, kind or mid that does not match, and a rejected section', () => {
    const p = inspectSdpPair(
      offerOf(av('v', ['VP8/90000']), av('w', ['VP8/90000']), av('x', ['VP8/90000'])),
      answerOf(['m=audio 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v', 'a=rtpmap:96 VP8/90000'], av('q', ['VP8/90000'], [], 0)),
    );
    expect(p.warnings).toEqual([
      'the offer has 3 m= sections but the answer has 2: an answer must have exactly one per offered section (RFC 8829 §5.3.1)',
      "m=video (mid v): the answer's section 0 is m=audio",
      "m=video (mid w): the answer's section 1 has mid q",
      'm=video (mid w) was rejected by the answer (port 0)',
    ]);
    expect(p.negotiation.map((n) => [n.index, n.rejected, n.common])).toEqual([
      [0, false, ['vp8/90000']],
      [1, true, ['vp8/90000']],
    ]);
    expect(formatSdpPairReport(p).split('\n')).toContain('  m=video mid=w: rejected');
    const noMid = inspectSdpPair(offerOf(av('v', ['VP8/90000'])), answerOf(['m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8/90000']));
    expect(noMid.warnings).toEqual(["m=video (mid v): the answer's section 0 has mid none"]);
  });

  it('checks directions by RFC 3264 §6.1', () => {
    const dirs = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];
    const fits: string[] = [];
    for (const o of dirs) {
      for (const a of dirs) {
        const p = inspectSdpPair(offerOf(av('v', ['VP8/90000'], [`a=${o}`])), answerOf(av('v', ['VP8/90000'], [`a=${a}`])));
        if (p.warnings.length === 0) fits.push(`${o}>${a}`);
        else expect(p.warnings).toEqual([`m=video (mid v): answer direction ${a} does not fit offer direction ${o} (RFC 8829 §5.3.1)`]);
      }
    }
    expect(fits).toEqual([
      'sendrecv>sendrecv',
      'sendrecv>sendonly',
      'sendrecv>recvonly',
      'sendrecv>inactive',
      'sendonly>recvonly',
      'sendonly>inactive',
      'recvonly>sendonly',
      'recvonly>inactive',
      'inactive>inactive',
    ]);
    // A rejected section has no direction to check.
    const rejected = inspectSdpPair(offerOf(av('v', ['VP8/90000'], ['a=sendonly'])), answerOf(av('v', ['VP8/90000'], ['a=sendonly'], 0)));
    expect(rejected.warnings).toEqual(['m=video (mid v) was rejected by the answer (port 0)']);
  });

  it('reports clashing DTLS roles (RFC 8842 §5.3), never for a rejected section', () => {
    const clash = (o: string, a: string, port = 9): string[] =>
      inspectSdpPair(offerOf(av('v', ['VP8/90000'], [`a=setup:${o}`])), answerOf(av('v', ['VP8/90000'], [`a=setup:${a}`], port))).warnings.filter((w) => /DTLS/.test(w));
    expect(clash('actpass', 'active')).toEqual([]);
    expect(clash('actpass', 'passive')).toEqual([]);
    expect(clash('active', 'passive')).toEqual([]);
    expect(clash('passive', 'active')).toEqual([]);
    expect(clash('active', 'active')).toEqual(['m=video (mid v): DTLS roles clash (offer setup:active, answer setup:active)']);
    expect(clash('passive', 'passive')).toEqual(['m=video (mid v): DTLS roles clash (offer setup:passive, answer setup:passive)']);
    expect(clash('active', 'active', 0)).toEqual([]);
  });
});

describe('formatSdpReport: the parts the werift offer does not have', () => {
  it('shows no BUNDLE, ICE lite, a rejected section, channels, fmtp, missing ICE/DTLS, related addresses and SCTP defaults', () => {
    const r: SdpReport = inspectSdp(
      sdp(
        ['a=ice-lite'],
        [
          'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
          'a=mid:a',
          'a=rtpmap:111 opus/48000/2',
          'a=fmtp:111 minptime=10',
          'a=rtcp-fb:111 transport-cc',
          'a=rtpmap:63 red/48000/1',
          'a=candidate:7 1 udp 1686052607 203.0.113.9 61000 typ srflx raddr 10.0.0.2 rport 50000',
        ],
        ['m=video 0 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8'],
        ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:d'],
      ),
    );
    // A candidate with a related address but no port (sdp-transform leaves rport out): shown as "?".
    r.sections[0]!.candidates.push({ ...r.sections[0]!.candidates[0]!, relatedPort: undefined, type: 'prflx' });
    r.warnings = ['first', 'second'];
    expect(formatSdpReport(r, 'mine')).toBe(
      [
        'mine: unknown, no BUNDLE, ICE lite',
        '',
        '  m=audio mid=a sendrecv UDP/TLS/RTP/SAVPF port 9',
        '    111 opus/48000/2  fmtp minptime=10; rtcp-fb transport-cc',
        '     63 red/48000/1',
        '    ICE ufrag (none); DTLS setup (none), fingerprint (none)',
        '    candidate srflx udp 203.0.113.9:61000 priority 1686052607 raddr 10.0.0.2:50000',
        '    candidate prflx udp 203.0.113.9:61000 priority 1686052607 raddr 10.0.0.2:?',
        '',
        '  m=video mid=- sendrecv UDP/TLS/RTP/SAVPF port 0 (REJECTED)',
        '     96 VP8/?',
        '    ICE ufrag (none); DTLS setup (none), fingerprint (none)',
        '',
        '  m=application mid=d UDP/DTLS/SCTP port 9',
        '    SCTP port ?, max-message-size (default 64 KiB)',
        '    ICE ufrag (none); DTLS setup (none), fingerprint (none)',
        '',
        '  warning: first',
        '  warning: second',
      ].join('\n'),
    );
  });

  it('shows a report with no warnings without a warning block, and an fmtp without rtcp-fb', () => {
    const r = inspectSdp(sdp([], audio('0', ['a=setup:actpass', 'a=fmtp:111 stereo=1', 'a=candidate:1 1 udp 2122260223 203.0.113.7 50000 typ host'])));
    expect(r.warnings).toEqual([]);
    const text = formatSdpReport(r);
    expect(text.split('\n').slice(-2)).toEqual(['    ICE ufrag abcd; DTLS setup actpass, fingerprint ' + FP, '    candidate host udp 203.0.113.7:50000 priority 2122260223']);
    expect(text).toContain('\n    111 opus/48000/2  fmtp stereo=1\n');
    expect(text.startsWith('SDP: offer, no BUNDLE\n')).toBe(true);
  });
});
