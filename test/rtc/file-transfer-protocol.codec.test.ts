/**
 * Unit tests for the pure parts of the peer core: the transfer protocol codec (names: transfer-names.test.ts), the manual
 * one-line SDP codec, candidate parsing/filtering for --ice-address, and the werift configuration we build.
 */
import { describe, expect, it } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import { RtcError } from '../../src/errors.js';
import { decodeControl, encodeControl } from '../../src/rtc/file-transfer-protocol.js';
import { VALID_MESSAGES } from '../helpers/transfer-arbitraries.js';
import { decodeManualLine, encodeManualLine, readManualLine } from '../../src/rtc/manual-signal.js';
import { parseCandidate } from '../../src/rtc/candidate.js';
import { buildPeerConfig, candidateAllowed, filterSdpCandidates } from '../../src/rtc/peer-connection.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RtcError);
    return (e as RtcError).code;
  }
  return undefined;
}

describe('transfer protocol codec', () => {
  it.each(VALID_MESSAGES.map((m) => [m.t, m] as const))('round-trips %s', (_t, m) => {
    expect(decodeControl(encodeControl(m))).toEqual(m);
  });

  it.each([
    ['not JSON', 'hello'],
    ['an array', '[]'],
    ['null', 'null'],
    ['unknown type', '{"t":"exec","cmd":"rm -rf /"}'],
    ['negative size', `{"t":"file","index":0,"name":"a","size":-1,"sha256":null,"chunkSize":1}`],
    ['chunk over 64 KiB', `{"t":"file","index":0,"name":"a","size":1,"sha256":null,"chunkSize":65537}`],
    ['fractional offset', '{"t":"start","index":0,"offset":1.5}'],
    ['uppercase hash', `{"t":"end","index":0,"size":1,"sha256":"${'AB'.repeat(32)}"}`],
    ['short hash', '{"t":"end","index":0,"size":1,"sha256":"abcd"}'],
    ['ok not boolean', `{"t":"ack","index":0,"ok":"yes"}`],
    ['huge message', `{"t":"ping","pad":"${'x'.repeat(10_000)}"}`],
    ['unsafe integer', '{"t":"start","index":0,"offset":9007199254740993}'],
    ['work past its total', '{"t":"ping","work":{"index":0,"phase":"hash","done":21,"total":20}}'],
    ['work of an unknown phase', '{"t":"ping","work":{"index":0,"phase":"sleep","done":1,"total":20}}'],
    ['work that is not an object', '{"t":"ping","work":[1]}'],
  ])('refuses %s with RTC_ERR_PROTOCOL', (_why, text) => {
    expect(codeOf(() => decodeControl(text))).toBe('RTC_ERR_PROTOCOL');
  });
});

describe('manual one-line SDP', () => {
  const sdp = 'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n';
  it('round-trips and survives terminal wrapping', () => {
    const line = encodeManualLine({ type: 'offer', sdp });
    expect(line).toMatch(/^rtc1\.offer\.[A-Za-z0-9_-]+$/);
    const wrapped = line.replace(/(.{40})/g, '$1\n  ');
    expect(decodeManualLine(wrapped, 'offer')).toEqual({ type: 'offer', sdp });
  });

  it('refuses the wrong kind, garbage, truncation and a zip bomb with RTC_ERR_BAD_SDP', () => {
    const line = encodeManualLine({ type: 'answer', sdp });
    expect(codeOf(() => decodeManualLine(line, 'offer'))).toBe('RTC_ERR_BAD_SDP');
    expect(codeOf(() => decodeManualLine('{"type":"offer","sdp":"v=0"}'))).toBe('RTC_ERR_BAD_SDP');
    expect(codeOf(() => decodeManualLine(line.slice(0, line.length - 10), 'answer'))).toBe('RTC_ERR_BAD_SDP');
    const bomb = deflateRawSync(Buffer.alloc(10 * 1024 * 1024, 0x20)).toString('base64url');
    expect(codeOf(() => decodeManualLine(`rtc1.offer.${bomb}`, 'offer'))).toBe('RTC_ERR_BAD_SDP');
    const notSdp = deflateRawSync(Buffer.from(JSON.stringify({ type: 'offer', sdp: 'hello' }))).toString('base64url');
    expect(codeOf(() => decodeManualLine(`rtc1.offer.${notSdp}`, 'offer'))).toBe('RTC_ERR_BAD_SDP');
  });

  it('skips blank lines before the pasted line and fails cleanly when input ends', async () => {
    const line = encodeManualLine({ type: 'offer', sdp });
    async function* lines(): AsyncGenerator<string> {
      yield '';
      yield '   ';
      yield line;
    }
    await expect(readManualLine(lines(), 'offer')).resolves.toEqual({ type: 'offer', sdp });
    async function* none(): AsyncGenerator<string> {
      yield '';
    }
    await expect(readManualLine(none(), 'offer')).rejects.toMatchObject({ code: 'RTC_ERR_BAD_SDP' });
  });
});

describe('--ice-address confinement', () => {
  const host = 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0';
  const other = 'candidate:2 1 udp 2130706431 10.1.2.3 40001 typ host generation 0';
  const srflx = 'candidate:3 1 udp 1694498815 203.0.113.9 50000 typ srflx raddr 127.0.0.1 rport 40000';
  const srflxOther = 'candidate:4 1 udp 1694498815 203.0.113.9 50001 typ srflx raddr 10.1.2.3 rport 40001';
  const relay = 'candidate:5 1 udp 16777215 127.0.0.1 60000 typ relay raddr 127.0.0.1 rport 40000';

  it('parses RFC 8839 candidate lines', () => {
    expect(parseCandidate(`a=${relay}`)).toMatchObject({
      foundation: '5', component: 1, protocol: 'udp', priority: 16777215, address: '127.0.0.1', port: 60000, type: 'relay', relatedAddress: '127.0.0.1', relatedPort: 40000,
    });
    expect(parseCandidate('candidate:garbage')).toBeUndefined();
    expect(parseCandidate('')).toBeUndefined();
  });

  it('keeps only candidates based on the chosen address', () => {
    expect(candidateAllowed(host, '127.0.0.1')).toBe(true);
    expect(candidateAllowed(other, '127.0.0.1')).toBe(false);
    expect(candidateAllowed(srflx, '127.0.0.1')).toBe(true);
    expect(candidateAllowed(srflxOther, '127.0.0.1')).toBe(false);
    expect(candidateAllowed(relay, '127.0.0.1')).toBe(true);
    expect(candidateAllowed('candidate:nonsense', '127.0.0.1')).toBe(false);
    expect(candidateAllowed(other, undefined)).toBe(true);
  });

  it('filters a=candidate lines from an SDP and leaves the rest byte for byte', () => {
    const sdp = ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=${host}`, `a=${other}`, 'a=end-of-candidates', ''].join('\r\n');
    expect(filterSdpCandidates(sdp, '127.0.0.1')).toBe(['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=${host}`, 'a=end-of-candidates', ''].join('\r\n'));
    expect(filterSdpCandidates(sdp, undefined)).toBe(sdp);
  });

  it('always passes iceServers explicitly and confines werift gathering', () => {
    const none = buildPeerConfig({ iceServers: [], relayOnly: false });
    expect(none.iceServers).toEqual([]);
    expect(none.iceTransportPolicy).toBe('all');
    const c = buildPeerConfig({
      iceServers: [{ urls: 'turn:127.0.0.1:3478?transport=tcp', username: 'u', credential: 'p' }],
      relayOnly: true,
      iceAddress: '127.0.0.1',
    });
    expect(c.iceServers).toEqual([{ urls: 'turn:127.0.0.1:3478?transport=tcp', username: 'u', credential: 'p' }]);
    expect(c.iceTransportPolicy).toBe('relay');
    expect(c).toMatchObject({ iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } });
    expect(buildPeerConfig({ iceServers: [], relayOnly: false, iceAddress: '::1' }).iceInterfaceAddresses).toEqual({ udp6: '::1' });
  });
});
