/**
 * What the recorder reads from the frames themselves: keyframes, picture sizes, the H.264 decoder configuration, and
 * Opus frame durations. Pure functions on depacketized frames; every reader tolerates truncated or hostile input
 * (it returns undefined rather than throwing).
 *
 * - VP8: RFC 6386 §9.1 (frame tag, keyframe start code 9d 01 2a, 14-bit width/height).
 * - VP9: VP9 bitstream specification §6.2 (uncompressed header: frame marker, profile, frame type, sync code, color
 *   config, frame size).
 * - H.264: ITU-T H.264 §7.3.2.1.1 (seq_parameter_set_data) for the size; ISO/IEC 14496-15 §5.3.3.1
 *   (AVCDecoderConfigurationRecord) for Matroska's CodecPrivate; Annex B start codes → 4-byte length prefixes.
 * - Opus: RFC 6716 §3.1 (TOC byte → frame duration), RFC 7845 §5.1 (OpusHead for CodecPrivate).
 */

export type VideoCodec = 'VP8' | 'VP9' | 'H264';

export interface PictureSize {
  width: number;
  height: number;
}

// -------------------------------------------------------------------------------------------------------------- VP8

/** RFC 6386 §9.1: bit 0 of the frame tag is 0 on a keyframe. */
export function vp8IsKeyframe(frame: Buffer): boolean {
  return frame.length > 0 && (frame[0]! & 0x01) === 0;
}

/** The picture size of a VP8 keyframe (3-byte frame tag, start code, then 14-bit width and height). */
export function vp8FrameSize(frame: Buffer): PictureSize | undefined {
  if (frame.length < 10 || !vp8IsKeyframe(frame)) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = frame.readUInt16LE(6) & 0x3fff;
  const height = frame.readUInt16LE(8) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

// -------------------------------------------------------------------------------------------------------------- VP9

class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}
  /** Read n bits (n ≤ 32), MSB first; throws RangeError past the end (callers catch it). */
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bit >> 3];
      if (byte === undefined) throw new RangeError('bitstream truncated');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  /** Exp-Golomb ue(v) (H.264 §9.1). */
  ue(): number {
    let zeros = 0;
    while (this.read(1) === 0) {
      if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.read(zeros);
  }
  /** Exp-Golomb se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

interface Vp9Header {
  keyframe: boolean;
  size?: PictureSize;
}

/** VP9 §6.2 uncompressed_header, as far as frame type and (on keyframes) frame size. */
function vp9Header(frame: Buffer): Vp9Header | undefined {
  try {
    const r = new BitReader(frame);
    if (r.read(2) !== 2) return undefined; // frame_marker
    const profile = r.read(1) | (r.read(1) << 1);
    if (profile === 3) r.read(1); // reserved_zero
    if (r.read(1) === 1) return { keyframe: false }; // show_existing_frame
    const keyframe = r.read(1) === 0; // frame_type KEY_FRAME = 0
    if (!keyframe) return { keyframe };
    r.read(1); // show_frame
    r.read(1); // error_resilient_mode
    if (r.read(8) !== 0x49 || r.read(8) !== 0x83 || r.read(8) !== 0x42) return undefined; // frame_sync_code
    if (profile >= 2) r.read(1); // ten_or_twelve_bit
    const colorSpace = r.read(3);
    if (colorSpace !== 7) {
      r.read(1); // color_range
      if (profile === 1 || profile === 3) r.read(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      r.read(1); // reserved_zero (CS_RGB)
    }
    const width = r.read(16) + 1;
    const height = r.read(16) + 1;
    return { keyframe, size: { width, height } };
  } catch {
    return undefined;
  }
}

export function vp9IsKeyframe(frame: Buffer): boolean {
  return vp9Header(frame)?.keyframe === true;
}

export function vp9FrameSize(frame: Buffer): PictureSize | undefined {
  return vp9Header(frame)?.size;
}

// ------------------------------------------------------------------------------------------------------------- H.264

/** The NAL units of an Annex B stream (start codes 00 00 01 / 00 00 00 01), without their start codes. */
export function splitAnnexB(data: Buffer): Buffer[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push({ at: i, len: 3 });
      i += 2;
    }
  }
  const out: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const begin = starts[k]!.at + starts[k]!.len;
    let end = k + 1 < starts.length ? starts[k + 1]!.at : data.length;
    // A 4-byte start code's leading zero belongs to the next start code, not to this NAL (H.264 B.1.1).
    while (end > begin && data[end - 1] === 0 && k + 1 < starts.length) end--;
    if (end > begin) out.push(data.subarray(begin, end));
  }
  return out;
}

export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;

export function nalType(nal: Buffer): number {
  return nal[0]! & 0x1f;
}

/** NAL units each preceded by its length in `width` bytes, big-endian (ISO/IEC 14496-15 §5.3.4.2). */
function lengthPrefixed(nals: Buffer[], width: number): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const len = Buffer.alloc(width);
      len.writeUIntBE(n.length, 0, width);
      return [len, n];
    }),
  );
}

/** Matroska V_MPEG4/ISO/AVC wants length-prefixed NAL units, 4-byte lengths here (lengthSizeMinusOne = 3 below). */
export function annexBToLengthPrefixed(nals: Buffer[]): Buffer {
  return lengthPrefixed(nals, 4);
}

/** Remove emulation-prevention bytes (00 00 03 → 00 00, H.264 §7.4.1) to get the raw RBSP. */
function rbsp(nal: Buffer): Buffer {
  const out = Buffer.alloc(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** The cropped picture size from an SPS NAL (H.264 §7.3.2.1.1, §7.4.2.1.1 frame cropping). */
export function h264SpsSize(sps: Buffer): PictureSize | undefined {
  try {
    const r = new BitReader(rbsp(sps).subarray(1)); // skip the NAL header byte
    const profile = r.read(8);
    r.read(16); // constraint flags + level_idc
    r.ue(); // seq_parameter_set_id
    let chromaFormat = 1;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) r.read(1); // separate_colour_plane_flag
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.read(1); // qpprime_y_zero_transform_bypass_flag
      if (r.read(1)) {
        for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) if (r.read(1)) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.read(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.read(1); // gaps_in_frame_num_value_allowed_flag
    const wMbs = r.ue() + 1;
    const hMapUnits = r.ue() + 1;
    const frameMbsOnly = r.read(1);
    if (!frameMbsOnly) r.read(1); // mb_adaptive_frame_field_flag
    r.read(1); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.read(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    // Crop units (§7.4.2.1.1): 4:2:0 → 2 horizontally, 2·(2 − frame_mbs_only) vertically.
    const cropX = chromaFormat === 0 || chromaFormat === 3 ? 1 : 2;
    const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = wMbs * 16 - cropX * (crop[0]! + crop[1]!);
    const height = (2 - frameMbsOnly) * hMapUnits * 16 - cropY * (crop[2]! + crop[3]!);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) from one SPS and its PPSs, 4-byte NAL lengths. */
export function avcDecoderConfig(sps: Buffer, ppss: Buffer[]): Buffer {
  // version 1, profile, profile compatibility, level (SPS bytes 1–3), lengthSizeMinusOne = 3, one SPS.
  const head = Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1]);
  return Buffer.concat([head, lengthPrefixed([sps], 2), Buffer.from([ppss.length]), lengthPrefixed(ppss, 2)]);
}

// -------------------------------------------------------------------------------------------------------------- Opus

/** Frame size of each Opus configuration (RFC 6716 §3.1, Table 2), in tenths of a millisecond. */
function opusFrameTenthsMs(config: number): number {
  if (config < 12) return [100, 200, 400, 600][config & 3]!; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [100, 200][config & 1]!; // Hybrid: 10, 20 ms
  return [25, 50, 100, 200][config & 3]!; // CELT-only: 2.5, 5, 10, 20 ms
}

/** Duration of one Opus packet in ms (frame size × frame count, RFC 6716 §3.1/§3.2), or undefined if malformed. */
export function opusPacketDurationMs(packet: Buffer): number | undefined {
  if (packet.length < 1) return undefined;
  const toc = packet[0]!;
  const code = toc & 0x03;
  let frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  if (code === 3 && packet.length < 2) return undefined;
  if (frames === 0) frames = 1;
  const ms = (opusFrameTenthsMs(toc >> 3) * frames) / 10;
  return ms <= 120 ? ms : undefined; // RFC 6716 §3.2.5: at most 120 ms per packet
}

/** OpusHead (RFC 7845 §5.1) for Matroska's CodecPrivate: version 1, channels, pre-skip 0, 48 kHz, mapping family 0. */
export function opusHead(channels: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  // Pre-skip 0: a WebRTC stream starts mid-stream and signals no encoder delay; nothing is cut from the recording.
  b.writeUInt16LE(0, 10);
  b.writeUInt32LE(48000, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}
