/**
 * `serve --redis <url>`: parse and check the URL without loading a Redis client, and print it without its password.
 *   redis://[[user]:password@]host[:port][/db]      rediss:// = the same over TLS (Node's CAs, plus NODE_EXTRA_CA_CERTS)
 */
import { RtcError } from '../errors.js';

export interface RedisTarget {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  /** The URL with the password replaced by "***": safe to print and log. */
  display: string;
}

/** Key prefix: 1-64 of [A-Za-z0-9:._-] (kept out of the way of other users of the same Redis). */
export const REDIS_PREFIX_RE = /^[A-Za-z0-9:._-]{1,64}$/;

export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Not a URL: keep the scheme and whatever follows the last '@' only.
    const at = url.lastIndexOf('@');
    return at >= 0 ? `${url.slice(0, url.indexOf('//') + 2)}***@${url.slice(at + 1)}` : url;
  }
}

export function parseRedisUrl(url: string): RedisTarget {
  const bad = (why: string): RtcError =>
    new RtcError('RTC_ERR_BAD_URL', `bad Redis URL "${redactRedisUrl(url)}": ${why}`, {
      hint: 'use redis://host:6379, redis://:password@host:6379/0 or rediss://host:6380 (TLS)',
    });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad('the scheme must be redis:// or rediss://');
  if (!u.hostname) throw bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw bad('the path must be a database number (e.g. /0)');
  if (u.search || u.hash) throw bad('no query or fragment is understood');
  const target: RedisTarget = {
    tls: u.protocol === 'rediss:',
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db: path === '' ? 0 : Number(path),
    display: redactRedisUrl(url),
  };
  if (u.username) target.username = decodeURIComponent(u.username);
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}
