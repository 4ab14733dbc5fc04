import { createReadStream, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { pack, type Header, type Pack } from 'tar-stream';
import { ImageError, ImageErrorCodes } from './errors.js';
import type { ContextFilter } from './ignore.js';

/** Options of {@link packContext}. */
export interface PackContextOptions {
  /** Which entries are sent (see `readContextFilter`). */
  filter: ContextFilter;
  /** Files added at the end of the archive (such as a substituted Dockerfile), mode 0644. */
  extraFiles?: readonly { name: string; content: string }[];
}

/** Files up to this size are read with one synchronous call; larger ones are streamed. */
const SMALL_FILE = 256 * 1024;

/** One directory being walked: its context-relative path and its sorted entry names. */
interface Frame {
  readonly rel: string;
  readonly names: string[];
  next: number;
}

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Writes one entry and resolves once the archive has taken it (respecting back-pressure). */
function writeEntry(tar: Pack, header: EntryHeader, body?: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => {
      if (err) reject(err);
      else resolve();
    };
    if (body === undefined) tar.entry(header, done);
    else tar.entry(header, body, done);
  });
}

/** Streams a large file into the archive; a file that changed size meanwhile fails the entry. */
function streamFile(tar: Pack, header: EntryHeader, abs: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = tar.entry(header, (err) => {
      if (err) reject(err);
      else resolve();
    });
    const source = createReadStream(abs, { start: 0, end: size - 1 });
    source.on('error', (err) => {
      sink.destroy(err);
      reject(err);
    });
    source.pipe(sink);
  });
}

function sortedNames(abs: string): string[] {
  // Sorted by name, as Go's filepath.Walk (and so the Docker CLI) sends entries.
  return readdirSync(abs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Streams a build context as a tar archive (with `tar-stream`, the engine `tar-fs` is built on),
 * leaving out what the filter excludes.
 *
 * @remarks
 * The tree is walked depth first, one directory at a time, as the consumer pulls: memory holds the
 * entry names of each folder on the current path (one list per level), never the list of every
 * file, so it stays flat whatever the number and size of the files (large files are streamed). Entries are sent sorted
 * by name, so the same tree gives the same archive. Symbolic links are sent as links
 * (not followed), empty directories are sent, file modes are kept exactly (no umask), long paths
 * use PAX headers, and owners are set to 0:0 as the Docker CLI does. An excluded directory is
 * walked only when an exception may include something inside it; its own entry is then not sent
 * (Docker's walk does the same). A file removed during the walk is skipped; sockets are skipped;
 * devices and FIFOs fail the archive with their path.
 *
 * @param contextDir - the build context folder
 * @param options - the filter
 * @returns a readable tar stream
 */
export function packContext(contextDir: string, options: PackContextOptions): Readable {
  const root = contextDir;
  const { filter } = options;
  const tar = pack();

  const sendEntry = async (rel: string, st: Stats): Promise<void> => {
    const header: EntryHeader = {
      name: rel,
      mode: st.mode & 0o7777,
      mtime: st.mtime,
      uid: 0,
      gid: 0,
    };
    const abs = join(root, rel);
    if (st.isDirectory()) {
      await writeEntry(tar, { ...header, type: 'directory' });
    } else if (st.isSymbolicLink()) {
      await writeEntry(tar, { ...header, type: 'symlink', linkname: readlinkSync(abs) });
    } else if (st.size <= SMALL_FILE) {
      await writeEntry(tar, { ...header, type: 'file' }, readFileSync(abs));
    } else {
      await streamFile(tar, { ...header, type: 'file', size: st.size }, abs, st.size);
    }
  };

  const walk = async (): Promise<void> => {
    const stack: Frame[] = [{ rel: '', names: sortedNames(root), next: 0 }];
    while (stack.length > 0) {
      if (tar.destroying) return;
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      const name = top.names[top.next++];
      if (name === undefined) {
        stack.pop();
        continue;
      }
      const rel = top.rel === '' ? name : `${top.rel}/${name}`;
      const excluded = filter.excludes(rel);
      // An excluded path is looked at only when an exception may include something below it.
      if (excluded && !filter.mayIncludeUnder(rel)) continue;
      const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
      if (st === undefined || st.isSocket()) continue;
      if (st.isDirectory()) {
        if (!excluded) await sendEntry(rel, st);
        stack.push({ rel, names: sortedNames(join(root, rel)), next: 0 });
        continue;
      }
      if (excluded) continue;
      if (!st.isFile() && !st.isSymbolicLink()) {
        throw new ImageError(
          ImageErrorCodes.INPUT,
          `${rel}: unsupported file type in the build context (not a file, folder or link); remove it or list it in .dockerignore`,
        );
      }
      try {
        await sendEntry(rel, st);
      } catch (err) {
        // Removed between the walk and the read (before its header was written): skip it, as
        // Docker's walk does.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
    for (const file of options.extraFiles ?? []) {
      if (tar.destroying) return;
      const header = { name: file.name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
      await writeEntry(tar, header, file.content);
    }
    tar.finalize();
  };

  // Start after the caller has attached its consumer, as a stream would.
  process.nextTick(() => {
    walk().catch((err: unknown) => {
      if (!tar.destroying) tar.destroy(toError(err));
    });
  });
  return tar as unknown as Readable;
}
