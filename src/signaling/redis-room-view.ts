/**
 * One instance's view of a room of the Redis store: its members in order with the instance each is connected to, kept
 * for every room that has a member on this instance. Relays are routed from it without a Redis round trip; it follows
 * Redis through versioned snapshots (the version only grows, so an older snapshot arriving late is ignored).
 *
 * Wire form of a member list (pub/sub records and script results): "<peer>:<instance>:<score>" joined by ",".
 */

export interface Member {
  peer: string;
  inst: string;
  /** Its version when it joined: the order of the room, and where a restored membership goes back. */
  score: string;
}

/** ZRANGE … WITHSCORES of "<peer> <instance>" members → Member[]. */
export function membersFromZset(flat: readonly string[]): Member[] {
  const out: Member[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const m = flat[i]!;
    const sp = m.indexOf(' ');
    if (sp > 0) out.push({ peer: m.slice(0, sp), inst: m.slice(sp + 1), score: flat[i + 1]! });
  }
  return out;
}

export function encodeMembers(ms: readonly Member[]): string {
  return ms.map((m) => `${m.peer}:${m.inst}:${m.score}`).join(',');
}

export function decodeMembers(s: string): Member[] {
  if (s === '') return [];
  const out: Member[] = [];
  for (const e of s.split(',')) {
    const [peer, inst, score] = e.split(':');
    if (peer && inst && score) out.push({ peer, inst, score });
  }
  return out;
}

export class RoomView {
  version = 0;
  members: Member[] = [];
  /** The peer ids in order (handed out by members(): read-only, replaced on change). */
  ids: readonly string[] = [];
  private readonly instOf = new Map<string, string>();

  constructor(
    readonly room: string,
    /** The capacity it was joined with (a restore after a Redis restart re-checks it). */
    public capacity: number,
  ) {}

  /** Take a snapshot if it is newer than what we have. */
  apply(version: number, members: Member[]): boolean {
    if (version <= this.version) return false;
    this.version = version;
    this.set(members);
    return true;
  }

  /** Drop one member at once (its own instance saw it go; Redis is told when it can be). */
  remove(peer: string): boolean {
    if (!this.instOf.has(peer)) return false;
    this.set(this.members.filter((m) => m.peer !== peer));
    return true;
  }

  inst(peer: string): string | undefined {
    return this.instOf.get(peer);
  }

  localPeers(self: string): Member[] {
    return this.members.filter((m) => m.inst === self);
  }

  /** The other instances holding members of this room. */
  remoteInsts(self: string): string[] {
    return [...new Set(this.members.map((m) => m.inst).filter((i) => i !== self))];
  }

  private set(members: Member[]): void {
    this.members = members;
    this.ids = members.map((m) => m.peer);
    this.instOf.clear();
    for (const m of members) this.instOf.set(m.peer, m.inst);
  }
}
