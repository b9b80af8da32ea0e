/** EBML primitives (src/rtc/media/ebml.ts, RFC 8794) the Matroska writer is built from. */
import { describe, expect, it } from 'vitest';
import { element, readElementHeader, sizeVint, voidElement, ID } from '../../../src/rtc/media/ebml.js';
import { formatDuration } from '../../../src/rtc/media/matroska-writer.js';

describe('EBML primitives (RFC 8794)', () => {
  it('writes data sizes in the shortest VINT, never the reserved all-ones value, and any requested width', () => {
    expect(sizeVint(0)).toEqual(Buffer.from([0x80]));
    expect(sizeVint(126)).toEqual(Buffer.from([0xfe]));
    expect(sizeVint(127)).toEqual(Buffer.from([0x40, 0x7f])); // 0xff would mean "unknown"
    expect(sizeVint(5, 8)).toEqual(Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 5]));
    expect(() => sizeVint(2 ** 56)).toThrow(RangeError);
    for (let total = 2; total < 300; total++) {
      const v = voidElement(total);
      expect(v.length).toBe(total);
      const h = readElementHeader(v, 0)!;
      expect(h.id).toBe(ID.Void);
      expect(h.dataStart + h.size!).toBe(total);
    }
    const el = element(ID.Info, Buffer.alloc(200));
    expect(readElementHeader(el, 0)).toMatchObject({ id: ID.Info, size: 200 });
    expect(formatDuration(3_723_456)).toBe('01:02:03.456000000');
  });
});
