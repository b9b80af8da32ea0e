/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest-00 §2.2), as coturn's `use-auth-secret` checks them:
 *   username = "<expiry unix seconds>:<user>"   (or just "<expiry>" when there is no user part)
 *   password = base64(HMAC-SHA1(shared secret, username))
 * The server recomputes the password from the username and its secret, and refuses the username once the expiry
 * timestamp has passed (coturn answers 401 then).
 */
import { createHmac } from 'node:crypto';
import { InvalidOptionError } from '../stun/errors.js';

export interface RestCredentials {
  username: string;
  password: string;
  /** Unix seconds after which the server refuses the credentials. */
  expiresAt: number;
}

export interface MintOptions {
  secret: string;
  /** The user part after the colon (coturn ignores it for authentication; it shows up in its logs). */
  user?: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** Clock in ms (injectable for tests). */
  now?: number;
}

export function mintRestCredentials(opts: MintOptions): RestCredentials {
  if (!opts.secret) throw new InvalidOptionError('secret', 'the TURN REST shared secret is empty');
  const ttl = opts.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new InvalidOptionError('ttlSeconds', `the REST credential lifetime must be a positive number of seconds (got ${ttl})`);
  if (opts.user !== undefined && opts.user.includes(':')) {
    // The colon separates the timestamp from the user: a second one makes servers parse the username differently.
    throw new InvalidOptionError('user', `the REST user part must not contain ":" (got "${opts.user}")`);
  }
  const expiresAt = Math.floor((opts.now ?? Date.now()) / 1000) + ttl;
  const username = opts.user ? `${expiresAt}:${opts.user}` : String(expiresAt);
  const password = createHmac('sha1', opts.secret).update(username, 'utf8').digest('base64');
  return { username, password, expiresAt };
}
