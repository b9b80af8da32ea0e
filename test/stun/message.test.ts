/**
 * The typed face over werift's STUN codec (src/stun/message.ts): defaults of a new message, re-encoding without stale
 * MESSAGE-INTEGRITY/FINGERPRINT (RFC 5389 §15.4/§15.5), the RFC 7983 §7 first-byte test, and the attribute readers.
 * RFC 5769 vectors and the fuzzer live in test/diagnostics (stun-*.test.ts); this file pins each helper's decisions.
 */
import { describe, expect, it } from 'vitest';
import { checkMessageIntegrity, shortTermKey } from '../../src/stun/integrity.js';
import {
  addressAttr,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  HEADER_LENGTH,
  isErrorResponse,
  isSuccessResponse,
  looksLikeStun,
  mappedAddressOf,
  methodName,
  StunClass,
  StunMethod,
  stringAttr,
} from '../../src/stun/message.js';

const TID = Buffer.from('0123456789ab');
const roundTrip = (m: ReturnType<typeof createStunMessage>): NonNullable<ReturnType<typeof decodeStunMessage>> => decodeStunMessage(encodeStunMessage(m))!;

describe('createStunMessage and encodeStunMessage', () => {
  it('makes a BINDING request with a fresh 12-byte transaction id by default', () => {
    const a = createStunMessage({});
    const b = createStunMessage({});
    expect(a.messageMethod).toBe(StunMethod.BINDING);
    expect(a.messageClass).toBe(StunClass.REQUEST);
    expect(a.transactionId).toHaveLength(12);
    expect(a.transactionId.equals(b.transactionId)).toBe(false);
    const c = createStunMessage({ method: StunMethod.ALLOCATE, cls: StunClass.INDICATION, transactionId: TID });
    expect([c.messageMethod, c.messageClass, c.transactionId.equals(TID)]).toEqual([StunMethod.ALLOCATE, StunClass.INDICATION, true]);
  });

  it('adds MESSAGE-INTEGRITY only with a key, then FINGERPRINT last unless told not to', () => {
    const key = shortTermKey('pass');
    const names = (buf: Buffer): string[] => decodeStunMessage(buf)!.getAttributes().map(([n]) => n);
    const plain = encodeStunMessage(createStunMessage({ transactionId: TID, attributes: [['SOFTWARE', 'x']] }));
    expect(names(plain)).toEqual(['SOFTWARE', 'FINGERPRINT']);
    expect(checkMessageIntegrity(plain, key)).toBe('absent');
    const signed = encodeStunMessage(createStunMessage({ transactionId: TID, attributes: [['SOFTWARE', 'x']] }), { integrityKey: key });
    expect(names(signed)).toEqual(['SOFTWARE', 'MESSAGE-INTEGRITY', 'FINGERPRINT']);
    expect(checkMessageIntegrity(signed, key)).toBe('valid');
    const bare = encodeStunMessage(createStunMessage({ transactionId: TID }), { fingerprint: false });
    expect(bare).toHaveLength(HEADER_LENGTH);
  });

  it('encoding twice (a retry with a new key) replaces MESSAGE-INTEGRITY and FINGERPRINT instead of stacking them', () => {
    const m = createStunMessage({ transactionId: TID, attributes: [['USERNAME', 'u'], ['SOFTWARE', 'x']] });
    encodeStunMessage(m, { integrityKey: shortTermKey('old') });
    const again = encodeStunMessage(m, { integrityKey: shortTermKey('new') });
    const fresh = encodeStunMessage(createStunMessage({ transactionId: TID, attributes: [['USERNAME', 'u'], ['SOFTWARE', 'x']] }), { integrityKey: shortTermKey('new') });
    expect(again.equals(fresh)).toBe(true);
    expect(checkMessageIntegrity(again, shortTermKey('new'))).toBe('valid');
    // Without a key the second time, the old MESSAGE-INTEGRITY is gone too, and the other attributes stay in order.
    const unsigned = encodeStunMessage(m);
    expect(decodeStunMessage(unsigned)!.getAttributes().map(([n]) => n)).toEqual(['USERNAME', 'SOFTWARE', 'FINGERPRINT']);
  });
});

describe('looksLikeStun (RFC 7983 §7)', () => {
  const valid = encodeStunMessage(createStunMessage({ transactionId: TID, attributes: [['SOFTWARE', 'abcd']] }));

  it('needs a whole header, the two top bits clear, a length that is a multiple of 4 and matches the datagram', () => {
    expect(looksLikeStun(valid)).toBe(true);
    expect(looksLikeStun(valid.subarray(0, HEADER_LENGTH))).toBe(false); // length field says more follows
    expect(looksLikeStun(Buffer.alloc(HEADER_LENGTH))).toBe(true);
    expect(looksLikeStun(Buffer.alloc(HEADER_LENGTH - 1))).toBe(false);
    for (const first of [0x40, 0x80, 0xc0]) {
      const b = Buffer.from(valid);
      b[0] = first;
      expect(looksLikeStun(b), first.toString(16)).toBe(false);
    }
    const odd = Buffer.alloc(HEADER_LENGTH + 2);
    odd.writeUInt16BE(2, 2);
    expect(looksLikeStun(odd)).toBe(false);
    const longer = Buffer.concat([valid, Buffer.alloc(4)]);
    expect(looksLikeStun(longer)).toBe(false);
  });
});

describe('attribute readers', () => {
  it('addresses: XOR-MAPPED-ADDRESS first, MAPPED-ADDRESS from servers that send only that', () => {
    const both = roundTrip(createStunMessage({ cls: StunClass.RESPONSE, transactionId: TID, attributes: [['MAPPED-ADDRESS', ['192.0.2.1', 1]], ['XOR-MAPPED-ADDRESS', ['192.0.2.2', 2]]] }));
    expect(mappedAddressOf(both)).toEqual({ address: '192.0.2.2', port: 2 });
    const old = roundTrip(createStunMessage({ cls: StunClass.RESPONSE, transactionId: TID, attributes: [['MAPPED-ADDRESS', ['192.0.2.1', 1]]] }));
    expect(mappedAddressOf(old)).toEqual({ address: '192.0.2.1', port: 1 });
    expect(addressAttr(old, 'OTHER-ADDRESS')).toBeUndefined();
    expect(mappedAddressOf(roundTrip(createStunMessage({ transactionId: TID })))).toBeUndefined();
  });

  it('an address value that is not [string, number] is no address', () => {
    const fake = (v: unknown): Parameters<typeof addressAttr>[0] => ({ getAttributeValue: () => v }) as unknown as Parameters<typeof addressAttr>[0];
    expect(addressAttr(fake(['192.0.2.1', 5]), 'MAPPED-ADDRESS')).toEqual({ address: '192.0.2.1', port: 5 });
    expect(addressAttr(fake([1, 5]), 'MAPPED-ADDRESS')).toBeUndefined();
    expect(addressAttr(fake(['192.0.2.1', '5']), 'MAPPED-ADDRESS')).toBeUndefined();
    expect(addressAttr(fake('192.0.2.1:5'), 'MAPPED-ADDRESS')).toBeUndefined();
  });

  it('ERROR-CODE, string attributes and the message class', () => {
    const err = roundTrip(createStunMessage({ cls: StunClass.ERROR, transactionId: TID, attributes: [['ERROR-CODE', [438, 'Stale Nonce']], ['REALM', 'r'], ['NONCE', Buffer.from('n0')]] }));
    expect(errorCodeOf(err)).toEqual({ code: 438, reason: 'Stale Nonce' });
    expect(stringAttr(err, 'REALM')).toBe('r');
    expect(stringAttr(err, 'NONCE')).toBe('n0');
    expect(stringAttr(err, 'SOFTWARE')).toBeUndefined();
    expect([isErrorResponse(err), isSuccessResponse(err)]).toEqual([true, false]);
    const ok = roundTrip(createStunMessage({ cls: StunClass.RESPONSE, transactionId: TID }));
    expect([isErrorResponse(ok), isSuccessResponse(ok), errorCodeOf(ok)]).toEqual([false, true, undefined]);
    const req = roundTrip(createStunMessage({ transactionId: TID }));
    expect([isErrorResponse(req), isSuccessResponse(req)]).toEqual([false, false]);
    const fake = (v: unknown): Parameters<typeof errorCodeOf>[0] => ({ getAttributeValue: () => v }) as unknown as Parameters<typeof errorCodeOf>[0];
    expect(errorCodeOf(fake([401]))).toEqual({ code: 401, reason: '' });
    expect(errorCodeOf(fake(['401', 'x']))).toBeUndefined();
    expect(errorCodeOf(fake(401))).toBeUndefined();
    expect(stringAttr(fake(Buffer.from('bytes')), 'NONCE')).toBe('bytes');
    expect(stringAttr(fake(5), 'NONCE')).toBeUndefined();
  });

  it('names methods, with hex for one werift does not know', () => {
    expect(methodName(StunMethod.BINDING)).toBe('BINDING');
    expect(methodName(StunMethod.CREATE_PERMISSION)).toBe('CREATE-PERMISSION');
    expect(methodName(0x0fe)).toBe('0x0fe');
    expect(methodName(0x7)).toBe('DATA');
    expect(methodName(0x1f)).toBe('0x01f');
  });
});
