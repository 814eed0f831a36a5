/**
 * A file system layer that remembers what was made durable. Every operation also happens on the
 * real disk (so the store works normally); `imageAt(k)` tells what a disk would hold if power
 * failed right after the k-th operation: only data that was fsynced, under names whose directory
 * was fsynced since they changed. This is the POSIX contract the store relies on, nothing more.
 *
 * `dropFileSync` / `dropDirSync` model a store with that fsync removed, to show the test catches it.
 */
import { dirname } from 'node:path';
import { nodeFs, type DurableFs } from '../../src/fs/file-io.js';

type Op =
  | { t: 'create'; path: string; text: string }
  | { t: 'fsync'; path: string }
  | { t: 'rename'; from: string; to: string }
  | { t: 'unlink'; path: string }
  | { t: 'dirsync'; dir: string };

export class PowerLossFs implements DurableFs {
  readonly ops: Op[] = [];

  constructor(private readonly options: { dropFileSync?: boolean; dropDirSync?: boolean } = {}) {}

  async createFile(path: string, text: string): Promise<void> {
    await nodeFs.createFile(path, text);
    this.ops.push({ t: 'create', path, text });
  }

  async fsyncFile(path: string): Promise<void> {
    if (!this.options.dropFileSync) this.ops.push({ t: 'fsync', path });
  }

  async rename(from: string, to: string): Promise<void> {
    await nodeFs.rename(from, to);
    this.ops.push({ t: 'rename', from, to });
  }

  async unlink(path: string): Promise<boolean> {
    const existed = await nodeFs.unlink(path);
    if (existed) this.ops.push({ t: 'unlink', path });
    return existed;
  }

  async fsyncDir(dir: string): Promise<void> {
    if (!this.options.dropDirSync) this.ops.push({ t: 'dirsync', dir });
  }

  /** path -> content of every file that would survive a power loss right after `ops[k - 1]`. */
  imageAt(k: number): Map<string, string> {
    const inodes: { volatile: string; durable: string }[] = [];
    const names = new Map<string, number>(); // what the directory says now
    const durableNames = new Map<string, number>(); // what it says after a crash
    for (const op of this.ops.slice(0, k)) {
      switch (op.t) {
        case 'create':
          names.set(op.path, inodes.push({ volatile: op.text, durable: '' }) - 1);
          break;
        case 'fsync':
          inodes[names.get(op.path)!]!.durable = inodes[names.get(op.path)!]!.volatile;
          break;
        case 'rename':
          names.set(op.to, names.get(op.from)!);
          names.delete(op.from);
          break;
        case 'unlink':
          names.delete(op.path);
          break;
        case 'dirsync':
          for (const path of [...durableNames.keys()]) if (dirname(path) === op.dir) durableNames.delete(path);
          for (const [path, inode] of names) if (dirname(path) === op.dir) durableNames.set(path, inode);
          break;
      }
    }
    return new Map([...durableNames].map(([path, inode]) => [path, inodes[inode]!.durable]));
  }
}
