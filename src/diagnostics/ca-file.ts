/** Reading a PEM CA file for turns: servers (turn-check, ice-gather). */
import { readFile } from 'node:fs/promises';
import { RtcError } from '../errors.js';

/** The file's bytes; RTC_ERR_FILE_NOT_FOUND / RTC_ERR_FILE_UNREADABLE / RTC_ERR_CERT (no PEM certificate in it). */
export async function readCaFile(file: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const details = { option: 'caFile', errno: code };
    if (code === 'ENOENT') throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `CA file "${file}" does not exist`, { details });
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `CA file "${file}" cannot be read (${code ?? String(e)})`, { details });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RtcError('RTC_ERR_CERT', `CA file "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { details: { option: 'caFile' } });
  }
  return pem;
}
