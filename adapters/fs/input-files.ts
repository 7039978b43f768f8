import { createReadStream } from 'node:fs';
import { opendir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareByFileTime } from '../../detectors/readers/paths.js';

/** A path given on the command line that cannot be read at all. */
export class UnreadableInputError extends Error {
  override name = 'UnreadableInputError';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    const code = (options?.cause as { code?: string } | undefined)?.code;
    super(`${path}: cannot read${code ? ` (${code})` : ''}`, options);
  }
}

/**
 * Every file under the given paths. A folder is walked recursively and its
 * files are read in the order of the time in their CloudTrail names, not in
 * folder order: an organization trail nests account, then region, then day, so
 * folder order would replay each account's week before the next one's and
 * break every time window that spans accounts or regions. Only the paths of
 * one folder tree are held in memory (about 150 bytes a file); file contents
 * are read one at a time. Hidden entries are skipped.
 */
export async function* walkInputs(
  paths: readonly string[],
  onUnreadable: (error: UnreadableInputError) => void,
): AsyncGenerator<string> {
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (cause) {
      onUnreadable(new UnreadableInputError(path, { cause }));
      continue;
    }
    if (info.isDirectory()) {
      const files: string[] = [];
      for await (const file of walkFolder(path, onUnreadable)) files.push(file);
      yield* files.sort(compareByFileTime);
    } else yield path;
  }
}

async function* walkFolder(
  folder: string,
  onUnreadable: (error: UnreadableInputError) => void,
): AsyncGenerator<string> {
  const entries: Array<{ name: string; dir: boolean }> = [];
  try {
    for await (const entry of await opendir(folder)) {
      if (entry.name.startsWith('.')) continue;
      entries.push({ name: entry.name, dir: entry.isDirectory() });
    }
  } catch (cause) {
    onUnreadable(new UnreadableInputError(folder, { cause }));
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.dir) yield* walkFolder(path, onUnreadable);
    else yield path;
  }
}

/** Files up to this size are read whole: one read and a synchronous gunzip beat a stream for them. */
const READ_WHOLE_BYTES = 64 * 1024 * 1024;

/**
 * A file's bytes: read whole when small (CloudTrail writes files of a few
 * megabytes at most), streamed in large chunks otherwise, so memory stays
 * bounded whatever the file's size.
 */
export async function fileBytes(path: string): Promise<Uint8Array[] | AsyncIterable<Uint8Array>> {
  const { size } = await stat(path);
  if (size <= READ_WHOLE_BYTES) return [await readFile(path)];
  return createReadStream(path, { highWaterMark: 1024 * 1024 });
}

/**
 * The files under `paths` with their bytes, reading the next file while the
 * caller processes the current one, so the CPU does not wait on the disk.
 * At most two files are held at once.
 */
export async function* readInputs(
  paths: readonly string[],
  onUnreadable: (error: UnreadableInputError) => void,
): AsyncGenerator<{ path: string; bytes: Uint8Array[] | AsyncIterable<Uint8Array> }> {
  const files = walkInputs(paths, onUnreadable);
  const open = async (): Promise<
    { path: string; bytes: Uint8Array[] | AsyncIterable<Uint8Array> } | undefined
  > => {
    for (;;) {
      const next = await files.next();
      if (next.done === true) return undefined;
      try {
        return { path: next.value, bytes: await fileBytes(next.value) };
      } catch (cause) {
        onUnreadable(new UnreadableInputError(next.value, { cause }));
      }
    }
  };
  let ahead = open();
  for (;;) {
    const current = await ahead;
    if (current === undefined) return;
    ahead = open();
    yield current;
  }
}
