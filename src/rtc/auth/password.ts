/**
 * The SPAKE2 password scalar of a code (docs/peer-auth.md §Key schedule): RFC 9382 §3.2 asks for w = MHF(pw) mod p
 * with a memory-hard function; scrypt (RFC 7914) runs in a browser with the same noble code.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { RtcError } from '../../errors.js';
import { bytesToBigInt, P256_ORDER } from './spake2.js';

/**
 * scrypt parameters (RFC 7914 §2): N = 2^15, r = 8, p = 1 uses 32 MiB and ~0.1–0.3 s here. The salt is a fixed
 * protocol label (the password already holds the nameplate); 40 bytes = 256 + 64 bits, reduced mod p, as RFC 9382 §3.2
 * suggests to remove the modulo bias.
 */
export const SCRYPT_PARAMS = { N: 1 << 15, r: 8, p: 1, dkLen: 40 } as const;
export const SCRYPT_SALT = 'rtc-cli peer-auth v1';

/** w = OS2IP(scrypt(code, SCRYPT_SALT, N, r, p, 40)) mod p (docs/peer-auth.md §Key schedule). Never 0. */
export async function passwordScalar(code: string): Promise<bigint> {
  const out = await scryptAsync(new TextEncoder().encode(code), new TextEncoder().encode(SCRYPT_SALT), { ...SCRYPT_PARAMS, asyncTick: 20 });
  const w = bytesToBigInt(out) % P256_ORDER;
  // Probability 2^-256; a zero w would make pA = X, so it is refused rather than used.
  if (w === 0n) throw new RtcError('RTC_ERR_INTERNAL', 'the code hashed to zero; pick another code');
  return w;
}
