// What the page takes from rtc-cli's installed packages rather than from its own files. `rtc-cli serve` serves them
// under /vendor/ from this origin, never from a CDN (src/signaling/page-vendor.ts):
//  - the audited noble libraries (runtime dependencies): the packages' own ES modules, as installed;
//  - the PGP word list of short codes, generated from the CLI's src/rtc/auth/wordlist.ts, so the two never differ.
// Every page module imports them from here: this is the one file that knows those URLs.
export { sha256 } from '../vendor/noble-hashes/esm/sha2.js';
export { hkdf } from '../vendor/noble-hashes/esm/hkdf.js';
export { hmac } from '../vendor/noble-hashes/esm/hmac.js';
export { scryptAsync } from '../vendor/noble-hashes/esm/scrypt.js';
export { p256 } from '../vendor/noble-curves/esm/nist.js';
export { EVEN_WORDS, ODD_WORDS } from '../vendor/rtc-cli/wordlist.js';
