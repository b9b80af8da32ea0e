/**
 * Where two peers meet on the signaling server (docs/peer-signaling.md §Who offers, docs/peer-auth.md §Rooms): a
 * plain room, the nameplate room the code's creator picks (skipping taken ones), or the one a typed code names.
 * Decides who offers and, when it is known at once, who the remote is.
 */
import { RtcError } from '../../errors.js';
import { authError } from '../auth/codecs.js';
import { generateCode, parseCode, randomNameplate, roomForNameplate, type ParsedCode } from '../auth/code.js';
import { passwordScalar } from '../auth/password.js';
import type { SessionAttempt } from './attempt.js';
import type { PeerRole, PeerSignaling } from './types.js';

/** Where we met the peer, and what we know of it after joining. */
export interface Meeting {
  role: PeerRole;
  /** Known at once for the offerer (the peer already in the room). */
  remoteId?: string;
  /** Code mode: the password scalar, computed while we join / wait (scrypt takes a moment). */
  w?: Promise<bigint>;
}

/** Nameplates tried, in order, by the side that makes a code: short ones first, longer when a busy server has them taken. */
const NAMEPLATE_RANGES = [99, 99, 99, 99, 999, 999, 999, 999, 9999, 9999, 9999, 9999];

/** Join the room the options name (a room, a new code, a typed code). */
export function meet(a: SessionAttempt, sig: PeerSignaling): Promise<Meeting> {
  const auth = a.opts.auth;
  if (!auth) return joinRoom(a, sig, a.opts.room!);
  if ('create' in auth) return createCodeRoom(a, sig, auth.words);
  return joinCodeRoom(a, sig, parseCode(auth.code));
}

/** --room: the later joiner offers, to the oldest peer in the room. */
async function joinRoom(a: SessionAttempt, sig: PeerSignaling, room: string): Promise<Meeting> {
  const join = await a.race(sig.join(room));
  a.emit({ type: 'joined', room: join.room, id: join.id, peers: join.peers.length });
  if (join.peers.length > 0) {
    a.peerSeen();
    return { role: 'offerer', remoteId: join.peers[0] };
  }
  a.emit({ type: 'waiting-for-peer', room });
  return { role: 'answerer' };
}

function isRoomFull(e: unknown): boolean {
  return e instanceof RtcError && e.code === 'RTC_ERR_ROOM_FULL';
}

/** Make a code: the first free nameplate room wins (a taken one, even by a silent squatter, is skipped). */
async function createCodeRoom(a: SessionAttempt, sig: PeerSignaling, words: number | undefined): Promise<Meeting> {
  for (const max of NAMEPLATE_RANGES) {
    const nameplate = randomNameplate(max);
    const room = roomForNameplate(nameplate);
    let join;
    try {
      join = await a.race(sig.join(room));
    } catch (e) {
      if (isRoomFull(e)) continue;
      throw e;
    }
    if (join.peers.length > 0) {
      await a.race(sig.leave());
      continue;
    }
    const code = generateCode(nameplate, words);
    const w = passwordScalar(code.code);
    w.catch(() => {});
    a.meetingPlace = `nameplate ${nameplate}`;
    a.emit({ type: 'joined', room: join.room, id: join.id, peers: 0 });
    a.emit({ type: 'code', code: code.code, nameplate, room });
    a.emit({ type: 'waiting-for-peer', room });
    return { role: 'answerer', w };
  }
  throw new RtcError('RTC_ERR_ROOM_FULL', `no free nameplate on the signaling server after ${NAMEPLATE_RANGES.length} tries`, {
    hint: 'the server\'s code rooms are taken; try again later or use another signaling server',
  });
}

/** Use a code: its nameplate's room must hold exactly the peer that made it. Never waits for a sender to appear. */
async function joinCodeRoom(a: SessionAttempt, sig: PeerSignaling, code: ParsedCode): Promise<Meeting> {
  const room = roomForNameplate(code.nameplate);
  const w = passwordScalar(code.code);
  w.catch(() => {});
  a.meetingPlace = `nameplate ${code.nameplate}`;
  const busy = (): RtcError =>
    authError(
      `someone else is already talking to the sender under nameplate ${code.nameplate} (if it is not you, the code may have been guessed; the sender stops after one wrong attempt)`,
      'ask the sender for a new code',
    );
  let join;
  try {
    join = await a.race(sig.join(room));
  } catch (e) {
    throw isRoomFull(e) ? busy() : e;
  }
  a.emit({ type: 'joined', room: join.room, id: join.id, peers: join.peers.length });
  if (join.peers.length === 0) {
    throw authError(
      `nobody is waiting under nameplate ${code.nameplate}: the sender stopped, the code is mistyped, or it was already used (a code allows one attempt)`,
      'ask the sender for a new code',
    );
  }
  if (join.peers.length > 1) throw busy();
  a.peerSeen('authenticating');
  return { role: 'offerer', remoteId: join.peers[0], w };
}
