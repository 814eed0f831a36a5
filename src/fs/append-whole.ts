/**
 * Appends a record to an O_APPEND file whole, or not at all. A full disk can take part of a
 * write and refuse the rest; the part left behind would be a torn line in the middle of the
 * file once the next append lands after it. So a failed append is cut back off before the
 * error (`DISK_FULL`, ...) is reported.
 */
import { fstatSync, ftruncateSync, writeSync } from 'node:fs';
import { fsFault } from './fs-errors.js';

export function appendWholeSync(fd: number, text: string, path: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } catch (error) {
    if (written > 0) {
      try {
        ftruncateSync(fd, fstatSync(fd).size - written);
      } catch {
        // cutting back failed too: the reader drops a torn last line, and the write error below says why
      }
    }
    throw fsFault(error, path) ?? error;
  }
}
