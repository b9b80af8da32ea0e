/**
 * EBML (RFC 8794), the binary format under Matroska and WebM (RFC 9559): just what rtc-cli writes and reads.
 *
 * An element is its ID (a VINT whose marker bits are kept, RFC 8794 §5), its data size (a VINT, §6) and its data.
 * A data size whose value bits are all 1 means "unknown size" (§6.2): rtc-cli's writer uses that while an element is
 * still growing, so a file cut by a crash is still readable, and patches in the real size when the element is done.
 */

/** Matroska element IDs (RFC 9559 §5.1), written with their marker bits as they appear in a file. */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
  CueRelativePosition: 0xf0,
  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  TagTrackUID: 0x63c5,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagString: 0x4487,
} as const;

/** Elements whose data is a list of child elements (the ones rtc-cli reads into). */
export const MASTER_IDS: ReadonlySet<number> = new Set<number>([
  ID.EBML,
  ID.Segment,
  ID.SeekHead,
  ID.Seek,
  ID.Info,
  ID.Tracks,
  ID.TrackEntry,
  ID.Video,
  ID.Audio,
  ID.Cluster,
  ID.BlockGroup,
  ID.Cues,
  ID.CuePoint,
  ID.CueTrackPositions,
  ID.Tags,
  ID.Tag,
  ID.Targets,
  ID.SimpleTag,
]);

/** The 8-byte "unknown size" data size (RFC 8794 §6.2): 0x01 followed by seven 0xff. */
export const UNKNOWN_SIZE_8 = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** The bytes of an element ID (its marker bits are part of the value). */
export function idBytes(id: number): Buffer {
  const len = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const b = Buffer.alloc(len);
  b.writeUIntBE(id, 0, len);
  return b;
}

/**
 * A data size as a VINT (RFC 8794 §4): `width` bytes (1..8), or the shortest that holds `n`. The all-ones value of each
 * width is reserved for "unknown", so a width holds at most 2^(7·width) − 2.
 */
export function sizeVint(n: number, width?: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`EBML size out of range: ${n}`);
  let w = width ?? 1;
  while (width === undefined && w < 8 && n > 2 ** (7 * w) - 2) w++;
  if (n > 2 ** (7 * w) - 2) throw new RangeError(`EBML size ${n} does not fit in ${w} bytes`);
  const b = Buffer.alloc(w);
  let v = n;
  for (let i = w - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[0]! |= 0x80 >> (w - 1);
  return b;
}

/** An element with the given data. */
export function element(id: number, data: Buffer | Buffer[]): Buffer {
  const body = Array.isArray(data) ? Buffer.concat(data) : data;
  return Buffer.concat([idBytes(id), sizeVint(body.length), body]);
}

/** An unsigned integer element in the fewest bytes (RFC 8794 §7.2). */
export function uintElement(id: number, n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) throw new RangeError(`EBML uint out of range: ${n}`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return element(id, Buffer.from(bytes));
}

/** A signed integer element (RFC 8794 §7.1): big-endian two's complement in the fewest bytes. */
export function intElement(id: number, n: number | bigint): Buffer {
  const v = BigInt(n);
  let len = 1;
  while (len < 8 && (v < -(1n << BigInt(8 * len - 1)) || v >= 1n << BigInt(8 * len - 1))) len++;
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return element(id, b.subarray(8 - len));
}

/** A float element, 8 bytes (RFC 8794 §7.3). */
export function floatElement(id: number, x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return element(id, b);
}

/** A string element (ASCII or UTF-8, RFC 8794 §7.4/7.5). */
export function stringElement(id: number, s: string): Buffer {
  return element(id, Buffer.from(s, 'utf8'));
}

/** A Void element (RFC 9559 §5.1.4, ID 0xEC) occupying exactly `total` bytes (≥ 2), to reserve room for a later patch. */
export function voidElement(total: number): Buffer {
  if (total < 2) throw new RangeError('a Void element takes at least 2 bytes');
  // ID (1 byte) + size: the shortest VINT width that leaves the rest for data.
  for (let w = 1; w <= 8; w++) {
    const dataLen = total - 1 - w;
    if (dataLen >= 0 && dataLen <= 2 ** (7 * w) - 2) return Buffer.concat([Buffer.from([ID.Void]), sizeVint(dataLen, w), Buffer.alloc(dataLen)]);
  }
  throw new RangeError(`cannot make a Void of ${total} bytes`);
}

// ------------------------------------------------------------------------------------------------------------- read

/** An element ID at `pos` (1 to 4 bytes, marker bits kept), or undefined when the bytes are not a valid ID. */
export function readId(buf: Buffer, pos: number): { id: number; len: number } | undefined {
  const b = buf[pos];
  if (b === undefined || b === 0) return undefined;
  const len = Math.clz32(b) - 23;
  if (len > 4 || pos + len > buf.length) return undefined;
  let id = 0;
  for (let i = 0; i < len; i++) id = id * 256 + buf[pos + i]!;
  return { id, len };
}

/** A data-size VINT at `pos`; `unknown` when all its value bits are 1 (RFC 8794 §6.2). */
export function readVint(buf: Buffer, pos: number): { value: number; len: number; unknown: boolean } | undefined {
  const b = buf[pos];
  if (b === undefined || b === 0) return undefined;
  const len = Math.clz32(b) - 23;
  if (pos + len > buf.length) return undefined;
  let value = b & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    const x = buf[pos + i]!;
    value = value * 256 + x;
    if (x !== 0xff) allOnes = false;
  }
  return { value, len, unknown: allOnes };
}

/** A big-endian unsigned integer of `size` bytes (up to 2^53). */
export function readUint(buf: Buffer, pos: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + buf[pos + i]!;
  return v;
}

/** One element header as read from a buffer: where it starts, where its data starts, and its data size. */
export interface ElementHeader {
  id: number;
  /** Offset of the ID's first byte. */
  start: number;
  /** Offset of the first data byte. */
  dataStart: number;
  /** Data size in bytes; undefined for an unknown-size element. */
  size: number | undefined;
  /** Length of the size field in bytes. */
  sizeLen: number;
}

/** The header of the element at `pos`, or undefined when it cannot be read (truncated or not EBML). */
export function readElementHeader(buf: Buffer, pos: number): ElementHeader | undefined {
  const id = readId(buf, pos);
  if (!id) return undefined;
  const size = readVint(buf, pos + id.len);
  if (!size) return undefined;
  return { id: id.id, start: pos, dataStart: pos + id.len + size.len, size: size.unknown ? undefined : size.value, sizeLen: size.len };
}
