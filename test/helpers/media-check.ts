/**
 * Judging a recorded WebM/Matroska file the way a media engineer would, reusable by any test that records (Chromium,
 * publish, an independent stack):
 *
 * - structure (our own EBML walk, independent of the writer's code paths): Segment size = bytes present, no
 *   unknown-sized element, a SeekHead listing Info/Tracks/Cues whose positions hold those elements, every
 *   CueClusterPosition at a Cluster and every CueRelativePosition at a block of the cue's track;
 * - tools: `mkvinfo` exits 0 with no warning/error line, `ffprobe -v warning` reading every frame prints nothing,
 *   `ffmpeg -ss <middle> -frames:v 1` decodes a frame;
 * - timeline (from ffprobe's packets, not from our reader): frames per track, first video frame a keyframe, the largest
 *   gap between audio frames, and each track's end (its last frame's time + duration; ffmpeg's per-stream DURATION
 *   convention), so |video end − audio end| is the A/V duration difference.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ID, readElementHeader, readUint, type ElementHeader } from '../../src/rtc/media/ebml.js';

export interface StructureReport {
  docType: string | undefined;
  bytes: number;
  segmentSize: number | undefined;
  clusters: number;
  cuePoints: number;
  /** Element IDs the SeekHead lists (hex), in order. */
  seekEntries: string[];
  /** Everything wrong, one line each; empty for a correct file. */
  problems: string[];
}

const NAMES = new Map<number, string>(Object.entries(ID).map(([k, v]) => [v, k]));
const nameOf = (id: number): string => NAMES.get(id) ?? `0x${id.toString(16)}`;

/** Walk the file's EBML and check the container's own bookkeeping. */
export function checkStructure(path: string): StructureReport {
  const buf = readFileSync(path);
  const problems: string[] = [];
  const report: StructureReport = { docType: undefined, bytes: buf.length, segmentSize: undefined, clusters: 0, cuePoints: 0, seekEntries: [], problems };
  const ebml = readElementHeader(buf, 0);
  if (!ebml || ebml.id !== ID.EBML || ebml.size === undefined) {
    problems.push('no EBML header at byte 0');
    return report;
  }
  for (const c of children(buf, ebml, problems)) {
    if (c.id === ID.DocType) report.docType = buf.subarray(c.dataStart, c.dataStart + c.size!).toString('latin1');
  }
  const seg = readElementHeader(buf, ebml.dataStart + ebml.size);
  if (!seg || seg.id !== ID.Segment) {
    problems.push('no Segment after the EBML header');
    return report;
  }
  report.segmentSize = seg.size;
  if (seg.size === undefined) problems.push('the Segment has an unknown size (never finalized)');
  else if (seg.dataStart + seg.size !== buf.length) problems.push(`Segment size says ${seg.size} bytes, ${buf.length - seg.dataStart} are present`);
  const top = children(buf, seg, problems);
  const byPos = new Map(top.map((e) => [e.start - seg.dataStart, e]));
  for (const e of top) {
    if (e.id === ID.Cluster) {
      report.clusters += 1;
      children(buf, e, problems); // checks every block inside has a known size that fits
    }
  }
  const seekHead = top.find((e) => e.id === ID.SeekHead);
  if (!seekHead) problems.push('no SeekHead');
  else checkSeekHead(buf, seekHead, byPos, report);
  const cues = top.find((e) => e.id === ID.Cues);
  if (!cues) problems.push('no Cues');
  else checkCues(buf, cues, byPos, report);
  return report;
}

/** The direct children of a master element; unknown sizes and overruns are reported. */
function children(buf: Buffer, parent: ElementHeader, problems: string[]): (ElementHeader & { size: number })[] {
  const out: (ElementHeader & { size: number })[] = [];
  const end = parent.size === undefined ? buf.length : Math.min(buf.length, parent.dataStart + parent.size);
  let pos = parent.dataStart;
  while (pos < end) {
    const h = readElementHeader(buf, pos);
    if (!h) {
      problems.push(`unreadable element at byte ${pos} inside ${nameOf(parent.id)}`);
      break;
    }
    if (h.size === undefined) {
      problems.push(`unknown-sized ${nameOf(h.id)} at byte ${pos}`);
      break;
    }
    if (h.dataStart + h.size > end) {
      problems.push(`${nameOf(h.id)} at byte ${pos} runs past its parent ${nameOf(parent.id)}`);
      break;
    }
    out.push({ ...h, size: h.size });
    pos = h.dataStart + h.size;
  }
  return out;
}

function uintChild(buf: Buffer, list: (ElementHeader & { size: number })[], id: number): number | undefined {
  const e = list.find((x) => x.id === id);
  return e ? readUint(buf, e.dataStart, e.size) : undefined;
}

function checkSeekHead(buf: Buffer, seekHead: ElementHeader, byPos: Map<number, ElementHeader>, report: StructureReport): void {
  const problems = report.problems;
  for (const seek of children(buf, seekHead, problems)) {
    if (seek.id !== ID.Seek) continue;
    const kids = children(buf, seek, problems);
    const idEl = kids.find((k) => k.id === ID.SeekID);
    const pos = uintChild(buf, kids, ID.SeekPosition);
    if (!idEl || pos === undefined) {
      problems.push('a Seek without SeekID/SeekPosition');
      continue;
    }
    const id = readUint(buf, idEl.dataStart, idEl.size);
    report.seekEntries.push(nameOf(id));
    const target = byPos.get(pos);
    if (!target || target.id !== id) problems.push(`SeekHead points ${nameOf(id)} at ${pos}, where ${target ? nameOf(target.id) : 'no element'} starts`);
  }
  for (const need of [ID.Info, ID.Tracks, ID.Cues]) {
    if (!report.seekEntries.includes(nameOf(need))) problems.push(`the SeekHead does not list ${nameOf(need)}`);
  }
}

function checkCues(buf: Buffer, cues: ElementHeader, byPos: Map<number, ElementHeader>, report: StructureReport): void {
  const problems = report.problems;
  for (const point of children(buf, cues, problems)) {
    if (point.id !== ID.CuePoint) continue;
    report.cuePoints += 1;
    const kids = children(buf, point, problems);
    const time = uintChild(buf, kids, ID.CueTime);
    for (const tp of kids.filter((k) => k.id === ID.CueTrackPositions)) {
      const pk = children(buf, tp, problems);
      const track = uintChild(buf, pk, ID.CueTrack);
      const clusterPos = uintChild(buf, pk, ID.CueClusterPosition);
      const rel = uintChild(buf, pk, ID.CueRelativePosition);
      const cluster = clusterPos === undefined ? undefined : byPos.get(clusterPos);
      if (!cluster || cluster.id !== ID.Cluster) {
        problems.push(`CuePoint at ${time} ms points at byte ${clusterPos} of the Segment, where no Cluster starts`);
        continue;
      }
      if (rel !== undefined) {
        const block = readElementHeader(buf, cluster.dataStart + rel);
        const inner = block?.id === ID.BlockGroup ? readElementHeader(buf, block.dataStart) : block;
        const blockTrack = inner && (inner.id === ID.SimpleBlock || inner.id === ID.Block) ? buf[inner.dataStart]! & 0x7f : undefined;
        if (blockTrack !== track) problems.push(`CuePoint at ${time} ms: CueRelativePosition ${rel} is not a block of track ${track}`);
      }
    }
  }
}

/** mkvinfo's complaints: non-zero exit or any line mentioning a warning or an error. */
export function mkvinfoWarnings(path: string): string[] {
  const r = spawnSync('mkvinfo', ['--abort-on-warnings', path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw new Error(`mkvinfo could not run (Debian package mkvtoolnix; run \`bash scripts/install-test-deps.sh\`): ${r.error.message}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /warning|error/i.test(l));
  if (r.status !== 0) lines.unshift(`mkvinfo exited ${r.status}`);
  return lines;
}

/** What `ffprobe -v warning` prints while reading every frame of the file (empty for a clean file). */
export function ffprobeWarnings(path: string): string[] {
  const r = spawnSync('ffprobe', ['-v', 'warning', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'json', path], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
  if (r.error) throw new Error(`ffprobe could not run (Debian package ffmpeg; run \`bash scripts/install-test-deps.sh\`): ${r.error.message}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  if (r.status !== 0) lines.unshift(`ffprobe exited ${r.status}`);
  return lines;
}

/** `ffmpeg -ss <s> -i file -frames:v 1`: does a seek to `s` decode a video frame without error? */
export function seekDecodes(path: string, seconds: number): { ok: boolean; detail: string } {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-ss', String(seconds), '-i', path, '-map', '0:v:0', '-frames:v', '1', '-f', 'framecrc', '-'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const frames = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  const ok = r.status === 0 && frames.length === 1 && !r.stderr.trim();
  return { ok, detail: `exit ${r.status}, ${frames.length} frame(s), stderr: ${r.stderr.trim() || '-'}` };
}

export interface TrackTimeline {
  codec: string;
  frames: number;
  keyframes: number;
  firstIsKeyframe: boolean;
  /** Time of the first and last frame, ms. */
  firstMs: number;
  lastMs: number;
  /** End of the last frame: its time plus its duration (the file's BlockDuration, else the median interval). */
  endMs: number;
  medianIntervalMs: number;
  /** Largest distance between consecutive frames, ms. */
  maxGapMs: number;
}

/** Per-track packet timeline from ffprobe (pts, duration, key flag). */
export function readTimeline(path: string): { video?: TrackTimeline; audio?: TrackTimeline } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time,duration_time,flags:stream=index,codec_type,codec_name', '-of', 'json', path],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const j = JSON.parse(out) as {
    streams: { index: number; codec_type: string; codec_name: string }[];
    packets?: { stream_index: number; pts_time?: string; duration_time?: string; flags?: string }[];
  };
  const result: { video?: TrackTimeline; audio?: TrackTimeline } = {};
  for (const s of j.streams) {
    if (s.codec_type !== 'video' && s.codec_type !== 'audio') continue;
    const pk = (j.packets ?? []).filter((p) => p.stream_index === s.index && p.pts_time !== undefined);
    const times = pk.map((p) => Number(p.pts_time) * 1000);
    const sorted = [...times].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((t, i) => t - sorted[i]!);
    const median = gaps.length ? [...gaps].sort((a, b) => a - b)[gaps.length >> 1]! : 0;
    const last = pk[times.indexOf(sorted.at(-1)!)];
    const lastDur = Number(last?.duration_time ?? 0) * 1000;
    result[s.codec_type] = {
      codec: s.codec_name,
      frames: pk.length,
      keyframes: pk.filter((p) => p.flags?.startsWith('K')).length,
      firstIsKeyframe: Boolean(pk[0]?.flags?.startsWith('K')),
      firstMs: sorted[0] ?? 0,
      lastMs: sorted.at(-1) ?? 0,
      endMs: (sorted.at(-1) ?? 0) + (lastDur > 0 ? lastDur : median),
      medianIntervalMs: median,
      maxGapMs: gaps.length ? Math.max(...gaps) : 0,
    };
  }
  return result;
}

export interface RecordingVerdict {
  structure: StructureReport;
  mkvinfo: string[];
  ffprobe: string[];
  seek: { ok: boolean; detail: string };
  timeline: { video?: TrackTimeline; audio?: TrackTimeline };
  /** |video end − audio end|, ms (both tracks on the file's timeline). */
  avEndDiffMs: number | undefined;
}

/** Every check above on one file; `seekSeconds` defaults to the middle of the video. */
export function judgeRecording(path: string, seekSeconds?: number): RecordingVerdict {
  const timeline = readTimeline(path);
  const { video, audio } = timeline;
  const middle = seekSeconds ?? (video ? (video.firstMs + video.lastMs) / 2000 : 0);
  return {
    structure: checkStructure(path),
    mkvinfo: mkvinfoWarnings(path),
    ffprobe: ffprobeWarnings(path),
    seek: video ? seekDecodes(path, middle) : { ok: true, detail: 'no video' },
    timeline,
    avEndDiffMs: video && audio ? Math.abs(video.endMs - audio.endMs) : undefined,
  };
}

/** A one-line summary for assertion messages. */
export function describeVerdict(v: RecordingVerdict): string {
  const t = (x?: TrackTimeline): string =>
    x ? `${x.codec} ${x.frames} frames ${x.firstMs.toFixed(1)}–${x.endMs.toFixed(1)} ms, median ${x.medianIntervalMs.toFixed(2)} ms, max gap ${x.maxGapMs.toFixed(1)} ms` : 'none';
  return `video: ${t(v.timeline.video)}; audio: ${t(v.timeline.audio)}; A/V end diff ${v.avEndDiffMs?.toFixed(1)} ms; problems: ${
    [...v.structure.problems, ...v.mkvinfo, ...v.ffprobe].join(' | ') || 'none'
  }; seek: ${v.seek.detail}`;
}

