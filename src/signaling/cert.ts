/**
 * The self-signed certificate for `rtc-cli serve --https` (browsers only give camera access to secure contexts, so a
 * phone on the LAN needs https:// to use the companion page).
 *
 * @peculiar/x509 (already installed with werift) builds and signs the X.509 structure (RFC 5280 §4.1) on Node's
 * WebCrypto: no openssl binary is needed on a fresh machine. It is imported only when a certificate is made, so
 * `--help` and plain-HTTP `serve` do not load it. The certificate covers localhost, the machine's host name and every
 * local interface address (subjectAltName, RFC 5280 §4.2.1.6), lives in the user's config directory (key mode 0600)
 * and is reused until it expires or the machine's names change.
 */
import { KeyObject, X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { homedir, hostname, networkInterfaces } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { RtcError } from '../errors.js';
import { canonicalIp, ipv6Groups, ipv6ToBytes } from '../net/ip.js';

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

/**
 * An IP SAN as @peculiar/x509 reads it: its IPv6 reader knows neither `::ffff:1.2.3.4` tails nor zone ids, so IPv6
 * goes as eight hex groups from our own parser (the bytes are what RFC 5280 §4.2.1.6 puts in iPAddress).
 */
function sanIp(ip: string): string {
  const v6 = ipv6ToBytes(ip);
  if (!v6) {
    if (!net.isIPv4(ip)) throw new RtcError('RTC_ERR_BAD_ADDRESS', `not an IP address: ${ip}`);
    return ip;
  }
  return ipv6Groups(v6);
}

/** Build a self-signed P-256 certificate for these names. Returns PEM strings. */
export async function generateSelfSigned(
  dnsNames: string[],
  ipAddresses: string[],
  opts: { days?: number; now?: Date } = {},
): Promise<{ cert: string; key: string }> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = opts.now ?? new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    // No serialNumber: the library draws 16 random bytes and keeps the INTEGER positive (RFC 5280 §4.1.2.2).
    name: [{ O: ['rtc-cli'] }, { CN: [`rtc-cli serve ${hostname().slice(0, 40)}`] }],
    // Backdate an hour so a peer whose clock is slightly behind does not see "not yet valid".
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + (opts.days ?? 365) * 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      // A leaf, not a CA (RFC 5280 §4.2.1.9); it is trusted directly (pinned), not as an issuer.
      new x509.BasicConstraintsExtension(false, undefined, true),
      // digitalSignature only: ECDHE key exchange signs with the key (RFC 5280 §4.2.1.3).
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        [...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((ip) => ({ type: 'ip' as const, value: sanIp(ip) }))],
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: `${cert.toString('pem')}\n`, key };
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

  const { cert, key } = await generateSelfSigned(dnsNames, ipAddresses, { days: opts.days, now });
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
    // OpenSSL prints IPv6 SANs uncompressed in upper case (0:0:0:0:0:0:0:1): give them in the usual form.
    ipAddresses: sans.filter((s) => s.startsWith('IP Address:')).map((s) => canonicalIp(s.slice(11))),
    validTo: new Date(x509.validTo),
    certPath,
    keyPath,
    generated: false,
  };
}
