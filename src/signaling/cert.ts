/**
 * The self-signed certificate for `rtc-cli serve --https` (browsers only give camera access to secure contexts, so a
 * phone on the LAN needs https:// to use the companion page).
 *
 * Pure JavaScript: node:crypto makes the P-256 key and the ECDSA signature; the X.509 structure (RFC 5280 §4.1) is
 * DER-encoded here, so no openssl binary or extra dependency is needed on a fresh machine. The certificate covers
 * localhost, the machine's host name and every local interface address (subjectAltName, RFC 5280 §4.2.1.6), lives in
 * the user's config directory (key mode 0600) and is reused until it expires or the machine's names change.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { homedir, hostname, networkInterfaces } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { RtcError } from '../errors.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, "AB:CD:..." (what browsers show). */
  fingerprint256: string;
  /** Names and addresses the certificate is valid for. */
  dnsNames: string[];
  ipAddresses: string[];
  validTo: Date;
  certPath?: string;
  keyPath?: string;
  /** True if this call generated a new certificate (false: reused or user-supplied). */
  generated: boolean;
}

export interface EnsureCertOptions {
  /** Directory holding serve-cert.pem / serve-key.pem. Default: configDir(). */
  dir?: string;
  /** Names to cover in addition to the defaults (localhost, host name, interface addresses). */
  extraNames?: string[];
  /** Validity in days for a new certificate. Default 365. */
  days?: number;
  /** Injected for tests. */
  now?: Date;
}

/** `$RTC_CLI_CONFIG_DIR`, else `$XDG_CONFIG_HOME/rtc-cli`, else `~/.config/rtc-cli`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RTC_CLI_CONFIG_DIR) return env.RTC_CLI_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return path.join(env.XDG_CONFIG_HOME, 'rtc-cli');
  return path.join(homedir(), '.config', 'rtc-cli');
}

/** localhost, this machine's host name(s) and every non-link-local interface address. */
export function localNames(): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set<string>(['localhost']);
  const h = hostname().toLowerCase();
  if (h && /^[a-z0-9.-]+$/.test(h)) {
    dns.add(h);
    if (!h.includes('.')) dns.add(`${h}.local`);
  }
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // fe80::/10 needs a zone id that cannot appear in a URL a browser accepts; leave it out.
      if (a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)) continue;
      ips.add(a.address);
    }
  }
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal DER (ITU-T X.690) encoder: just the types an X.509 certificate needs.

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLen(content.length), content]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
function integer(b: Buffer): Buffer {
  // DER INTEGER is two's complement: a leading 1 bit would make it negative.
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = Math.floor(p / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/** IPv4 → 4 bytes, IPv6 → 16 bytes (for the iPAddress GeneralName, RFC 5280 §4.2.1.6). */
export function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!net.isIPv6(ip)) throw new RtcError('RTC_ERR_BAD_ADDRESS', `not an IP address: ${ip}`);
  let s = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    s = s.slice(0, -v4[0].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const r = rest ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const words = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), octets(value)) : seq(oid(id), octets(value));
}

/** Build a self-signed P-256 certificate for these names. Returns PEM strings. */
export function generateSelfSigned(dnsNames: string[], ipAddresses: string[], opts: { days?: number; now?: Date } = {}): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const now = opts.now ?? new Date();
  // Backdate an hour so a peer whose clock is slightly behind does not see "not yet valid".
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (opts.days ?? 365) * 86_400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, non-zero (RFC 5280 §4.1.2.2)
  const name = seq(
    set(seq(oid(OID.organization), utf8('rtc-cli'))),
    set(seq(oid(OID.commonName), utf8(`rtc-cli serve ${hostname().slice(0, 40)}`))),
  );
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const san = seq(
    ...dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))), // [2] dNSName IA5String
    ...ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))), // [7] iPAddress
  );
  const extensions = seq(
    // A leaf, not a CA (RFC 5280 §4.2.1.9); it is trusted directly (pinned), not as an issuer.
    extension(OID.basicConstraints, true, seq()),
    // digitalSignature only: ECDHE key exchange signs with the key (RFC 5280 §4.2.1.3).
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, san),
    extension(OID.subjectKeyId, false, octets(createHash('sha1').update(spki).digest())),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // version v3
    integer(serial),
    sigAlg,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, sigAlg, bitString(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function describe(cert: string, key: string): { x509: X509Certificate } {
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the private key does not belong to the certificate');
  return { x509 };
}

function covers(x509: X509Certificate, dnsNames: string[], ips: string[]): boolean {
  return dnsNames.every((d) => x509.checkHost(d, { wildcards: false }) !== undefined) && ips.every((ip) => x509.checkIP(ip) !== undefined);
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  // Write then rename, so a crash never leaves a half-written key or certificate that looks complete.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, data, { mode });
  await fsp.chmod(tmp, mode);
  await fsp.rename(tmp, file);
}

/**
 * The certificate for `serve --https` without --cert/--key: reuse the stored one if it is valid for at least another
 * day, matches its key and covers every current name; otherwise generate and store a new one.
 */
export async function ensureSelfSignedCert(opts: EnsureCertOptions = {}): Promise<TlsMaterial> {
  const dir = opts.dir ?? configDir();
  const now = opts.now ?? new Date();
  const certPath = path.join(dir, 'serve-cert.pem');
  const keyPath = path.join(dir, 'serve-key.pem');
  const names = localNames();
  for (const n of opts.extraNames ?? []) {
    if (net.isIP(n)) names.ipAddresses.push(n);
    else names.dnsNames.push(n.toLowerCase());
  }
  const dnsNames = [...new Set(names.dnsNames)];
  const ipAddresses = [...new Set(names.ipAddresses)];

  try {
    const [cert, key] = await Promise.all([fsp.readFile(certPath, 'utf8'), fsp.readFile(keyPath, 'utf8')]);
    const { x509 } = describe(cert, key);
    const validTo = new Date(x509.validTo);
    if (validTo.getTime() - now.getTime() > 86_400_000 && new Date(x509.validFrom).getTime() <= now.getTime() && covers(x509, dnsNames, ipAddresses)) {
      return { cert, key, fingerprint256: x509.fingerprint256, dnsNames, ipAddresses, validTo, certPath, keyPath, generated: false };
    }
  } catch {
    // Missing, unreadable, corrupt or mismatched: make a new one below.
  }

  const { cert, key } = generateSelfSigned(dnsNames, ipAddresses, { days: opts.days, now });
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomic(keyPath, key, 0o600);
    await writeAtomic(certPath, cert, 0o644);
  } catch (e) {
    throw new RtcError('RTC_ERR_WRITE', `cannot store the generated certificate in ${dir}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'set RTC_CLI_CONFIG_DIR (or XDG_CONFIG_HOME) to a writable directory, or pass --cert and --key',
      cause: e,
    });
  }
  const x509 = new X509Certificate(cert);
  return { cert, key, fingerprint256: x509.fingerprint256, dnsNames, ipAddresses, validTo: new Date(x509.validTo), certPath, keyPath, generated: true };
}

/** Load a user-supplied PEM certificate and key (--cert/--key). Throws RTC_ERR_FILE_NOT_FOUND / RTC_ERR_FILE_UNREADABLE / RTC_ERR_CERT. */
export async function loadCertificate(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (p: string, what: string): Promise<string> => {
    try {
      return await fsp.readFile(p, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `${what} file not found: ${p}`, { cause: e });
      throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read the ${what} file ${p}: ${(e as Error).message}`, { cause: e });
    }
  };
  const [cert, key] = await Promise.all([read(certPath, '--cert'), read(keyPath, '--key')]);
  let x509: X509Certificate;
  try {
    x509 = describe(cert, key).x509;
  } catch (e) {
    throw new RtcError('RTC_ERR_CERT', `the certificate/key pair cannot be used: ${e instanceof Error ? e.message : String(e)}`, {
      hint: '--cert takes a PEM certificate (-----BEGIN CERTIFICATE-----) and --key its PEM private key',
      cause: e,
    });
  }
  const sans = (x509.subjectAltName ?? '').split(/,\s*/).filter(Boolean);
  return {
    cert,
    key,
    fingerprint256: x509.fingerprint256,
    dnsNames: sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
    ipAddresses: sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11)),
    validTo: new Date(x509.validTo),
    certPath,
    keyPath,
    generated: false,
  };
}
