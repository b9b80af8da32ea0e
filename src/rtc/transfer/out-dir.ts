/**
 * The receiver's output directory: checked before connecting, a free final name for each file, and its free space.
 */
import { constants as fsc } from 'node:fs';
import { access, lstat, readdir, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RtcError } from '../../errors.js';
import { numberedName } from './names.js';
import { checkPartialDir } from './part-store.js';

/** Check the output directory (and rtc-cli's partial directory in it) before connecting: exit 2 if unusable. */
export async function checkOutDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output directory ${dir} does not exist`, { cause: e, hint: `create it first: mkdir -p ${dir}` });
  }
  if (!st.isDirectory()) throw new RtcError('RTC_ERR_BAD_OUTPUT', `${dir} is not a directory`);
  try {
    await access(abs, fsc.W_OK);
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output directory ${dir} is not writable`, { cause: e });
  }
  const problem = await checkPartialDir(abs);
  if (problem) throw new RtcError('RTC_ERR_BAD_OUTPUT', problem.message, { hint: problem.hint });
  return abs;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The names in `dir` in NFC: a name counts as taken when an entry has the same NFC form, so an incoming `résumé.pdf`
 * never lands beside a differently-encoded but identical-looking one (ext4 would store both).
 */
async function takenNames(dir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(dir)).map((n) => n.normalize('NFC')));
  } catch {
    return new Set();
  }
}

/**
 * Where to save `name`: itself if free, else the first free `name (n).ext`. With `force` an existing file of exactly
 * that name is replaced, except a dotfile (`--force` must not hand a sender `.bashrc`).
 */
export async function chooseTarget(dir: string, name: string, force: boolean): Promise<string> {
  const taken = await takenNames(dir);
  const free = async (n: string): Promise<boolean> => !taken.has(n.normalize('NFC')) && !(await exists(join(dir, n)));
  if (force && !name.startsWith('.') && (await exists(join(dir, name)))) return name;
  if (await free(name)) return name;
  for (let n = 1; n < 1000; n++) {
    const candidate = numberedName(name, n);
    if (await free(candidate)) return candidate;
  }
  throw new RtcError('RTC_ERR_EXISTS', `${name} and 999 numbered variants already exist in ${dir}`, { hint: 'pass --force to overwrite, or choose another --out' });
}

/** Bytes an unprivileged writer may still use on the file system holding `dir` (statfs f_bavail × f_bsize). */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
