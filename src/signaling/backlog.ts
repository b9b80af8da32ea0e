/**
 * How much of what we sent a peer it has provably read.
 *
 * `ws.bufferedAmount` only counts bytes still in the process: a peer that stops reading first fills the kernel's
 * socket buffers (several MiB on Linux) while bufferedAmount stays 0, so a check on it alone lets each such peer pin
 * megabytes indefinitely. A Pong must echo the Ping's application data (RFC 6455 §5.5.3), and TCP delivers in order,
 * so a Pong carrying a random nonce proves the peer read everything sent before that Ping. The backlog is everything
 * sent since the last such proof. Pings go out on the heartbeat and whenever a quarter of the limit was sent since the
 * last one, so a reading peer's backlog never gets near the limit.
 */
import { randomBytes } from 'node:crypto';

const MAX_OUTSTANDING = 16;

interface Outstanding {
  nonce: Buffer;
  /** Bytes sent before this ping. */
  sentBefore: number;
}

export class ReadTracker {
  private sent = 0;
  private acked = 0;
  private lastPingAt = 0;
  private readonly outstanding: Outstanding[] = [];

  constructor(private readonly limit: number) {}

  /** Account for `bytes` handed to the socket. */
  wrote(bytes: number): void {
    this.sent += bytes;
  }

  /** Bytes sent that the peer has not provably read. */
  backlog(): number {
    return this.sent - this.acked;
  }

  /** The payload of a ping to send now: on the heartbeat (always) or after a quarter of the limit was sent. */
  ping(force: boolean): Buffer | undefined {
    if (!force && (this.sent - this.lastPingAt < this.limit / 4 || this.outstanding.length >= MAX_OUTSTANDING)) return undefined;
    if (this.outstanding.length >= MAX_OUTSTANDING) this.outstanding.shift();
    const nonce = randomBytes(8);
    this.outstanding.push({ nonce, sentBefore: this.sent });
    this.lastPingAt = this.sent;
    return nonce;
  }

  /** A pong arrived: true if it echoes one of our pings (proof of reading), false for a forged or stale one. */
  pong(payload: Buffer): boolean {
    const i = this.outstanding.findIndex((o) => o.nonce.equals(payload));
    if (i < 0) return false;
    this.acked = Math.max(this.acked, this.outstanding[i]!.sentBefore);
    this.outstanding.splice(0, i + 1);
    return true;
  }
}
