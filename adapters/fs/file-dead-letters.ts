/**
 * The dead-letter sink of the CLI (`trailhound scan --notify`): one JSON line
 * per update a destination could not take, appended to
 * `<dir>/<destination>.ndjson`, each line the same {@link DeadLetter} record
 * the SQS queue holds. {@link redriveFileDeadLetters} reads them back,
 * re-delivers, and rewrites each file with only what is still undelivered
 * (and any line it could not read), through a temporary file and a rename so
 * a crash never loses letters.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DeadLetter,
  deadLetterOf,
  emptyRedriveSummary,
  parseDeadLetter,
  type Redeliverer,
  type RedriveSummary,
  redeliver,
} from '../../detectors/alerting/dead-letter.js';
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';
import type { AlertDestination, DeadLetterSink } from '../../detectors/alerting/ports.js';

const SUFFIX = '.ndjson';

/** A destination name as a file name: anything but letters, digits, `.`, `_`, `-` becomes `_`. */
export function deadLetterFileName(destination: string): string {
  const safe = destination.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return `${safe || '_'}${SUFFIX}`;
}

export interface FileDeadLettersOptions {
  /** Epoch ms, for `dead_lettered_at` (default `Date.now`). */
  readonly now?: () => number;
}

export class FileDeadLetters implements DeadLetterSink {
  count = 0;
  private ready: Promise<unknown> | undefined;
  private readonly now: () => number;

  constructor(
    readonly dir: string,
    options: FileDeadLettersOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async put(destination: string, updates: readonly IncidentUpdate[], reason: string): Promise<void> {
    if (updates.length === 0) return;
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const now = this.now();
    const lines = updates
      .map((u) => `${JSON.stringify(deadLetterOf(destination, u, reason, now))}\n`)
      .join('');
    await appendFile(join(this.dir, deadLetterFileName(destination)), lines);
    this.count += updates.length;
  }
}

/** One line of a dead-letter file. */
export interface FileDeadLetter {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  /** Undefined when the line is not a dead letter. */
  readonly letter: DeadLetter | undefined;
}

/** Every line of every dead-letter file under `dir` (none when the folder does not exist). */
export async function readFileDeadLetters(dir: string): Promise<FileDeadLetter[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(SUFFIX)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: FileDeadLetter[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((text, index) => {
      if (text.trim() === '') return;
      out.push({ file, line: index + 1, text, letter: parseDeadLetter(text) });
    });
  }
  return out;
}

export interface RedriveFileDeadLettersOptions {
  readonly dir: string;
  readonly destinations: ReadonlyMap<string, AlertDestination>;
  /** How letters are delivered again (default: as written, {@link redeliver}; the alerter's brings them up to date). */
  readonly redeliver?: Redeliverer;
  /** Re-drive at most this many letters (default all); the others stay as they are. */
  readonly maxMessages?: number;
}

/** Re-delivers the letters under `dir`, keeping in their files only those still undelivered. */
export async function redriveFileDeadLetters(
  options: RedriveFileDeadLettersOptions,
): Promise<RedriveSummary> {
  const summary = emptyRedriveSummary();
  const all = await readFileDeadLetters(options.dir);
  const chosen = all.slice(0, options.maxMessages ?? all.length);
  const readable = chosen.filter((l) => l.letter !== undefined);
  summary.unreadable = chosen.length - readable.length;
  summary.received = summary.unreadable;
  const outcomes = await (options.redeliver ?? redeliver)(
    readable.map((l) => l.letter as DeadLetter),
    options.destinations,
    summary,
  );
  const delivered = new Set(readable.filter((_, i) => outcomes[i]?.status === 'delivered'));
  if (delivered.size === 0) return summary;
  const byFile = new Map<string, FileDeadLetter[]>();
  for (const line of all) byFile.set(line.file, [...(byFile.get(line.file) ?? []), line]);
  for (const [file, lines] of byFile) {
    const keep = lines.filter((l) => !delivered.has(l)).map((l) => `${l.text}\n`);
    if (keep.length === lines.length) continue;
    // Letters appended while this redrive was delivering are kept too.
    const now = (await readFile(file, 'utf8')).split('\n');
    const lastRead = Math.max(...lines.map((l) => l.line));
    for (const text of now.slice(lastRead)) if (text.trim() !== '') keep.push(`${text}\n`);
    if (keep.length === 0) {
      await rm(file, { force: true });
      continue;
    }
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, keep.join(''));
    await rename(temporary, file);
  }
  return summary;
}
