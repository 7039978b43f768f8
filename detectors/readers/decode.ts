/**
 * Reads audit records out of one input (a file, an S3 object body, an HTTP
 * body) whatever its container: gzip or not, JSON Lines or one JSON document,
 * CloudTrail log files, EventBridge envelopes, LookupEvents output. The format
 * is detected per input and per line, never from the file name alone.
 *
 * It yields records and problems in order and never throws for bad content:
 * a malformed line is a problem with its line number, and the lines after it
 * are still read.
 */
import { Readable } from 'node:stream';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import type { LogSource } from '../schema/event.js';
import { InputProblemError } from './errors.js';
import { type Line, splitLines } from './lines.js';
import { unpackDocument } from './unpack.js';

export interface DecodeOptions {
  /** Largest line or document held in memory; longer ones are reported as oversized. */
  readonly maxDocumentBytes: number;
  /** Largest piece of offending text kept in a problem for the quarantine. */
  readonly maxQuarantineBytes: number;
}

export const DEFAULT_DECODE_OPTIONS: DecodeOptions = {
  maxDocumentBytes: 256 * 1024 * 1024,
  maxQuarantineBytes: 1024 * 1024,
};

/**
 * Bytes of one input, in chunks of any size: a stream (file, S3 body) or an
 * array of buffers already in memory.
 */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface RawRecord {
  readonly kind: 'record';
  readonly source: LogSource;
  readonly record: Record<string, unknown>;
  /** Line of the input the record came from. */
  readonly line: number;
}

export interface Problem {
  readonly kind: 'problem';
  readonly error: InputProblemError;
}

export type DecodedItem = RawRecord | Problem;

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

const isGzip = (head: Uint8Array): boolean => head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;

/** Marks the end of a salvaged truncated gzip: the records before it are read, then the truncation is reported. */
class TruncatedGzipError extends Error {
  readonly code = 'Z_BUF_ERROR';
}

/**
 * Re-yields `source`, transparently gunzipping it when it starts with the gzip
 * magic bytes. An input already in memory (an array of buffers: a whole file or
 * object body) is gunzipped synchronously, which is markedly faster than the
 * stream for the few-megabyte files CloudTrail writes; a truncated one still
 * yields what was before the cut, then fails as truncated.
 */
async function* decompressed(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (Array.isArray(source)) {
    const whole = source.length === 1 ? (source[0] as Uint8Array) : Buffer.concat(source as Uint8Array[]);
    if (!isGzip(whole)) {
      if (whole.length > 0) yield whole;
      return;
    }
    try {
      yield gunzipSync(whole);
    } catch (error) {
      if ((error as { code?: string }).code !== 'Z_BUF_ERROR') throw error;
      yield gunzipSync(whole, { finishFlush: constants.Z_SYNC_FLUSH });
      throw new TruncatedGzipError('unexpected end of file', { cause: error });
    }
    return;
  }
  const iterator =
    Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () {
          yield* source;
        })();
  const first = await iterator.next();
  if (first.done === true) return;
  const head = first.value;
  const replay = (async function* () {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  })();
  if (!isGzip(head)) {
    yield* replay;
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const input = Readable.from(replay, { objectMode: false });
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  yield* gunzip;
}

const capped = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);

/** A first line that is a whole JSON object on its own means JSON Lines (a CloudTrail log file is one such line). */
function looksLikeJsonLine(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.startsWith('{') && trimmed.endsWith('}');
}

function lineOfPosition(text: string, error: unknown): number | undefined {
  const message = error instanceof Error ? error.message : '';
  const explicit = /line (\d+)/.exec(message);
  if (explicit) return Number(explicit[1]);
  const position = /position (\d+)/.exec(message);
  if (!position) return undefined;
  let line = 1;
  const end = Math.min(Number(position[1]), text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Decodes one input into batches of items, one batch per line or document:
 * batching keeps the per-record cost of async iteration off the hot path.
 */
export async function* decodeInput(
  name: string,
  source: ByteSource,
  options: DecodeOptions = DEFAULT_DECODE_OPTIONS,
): AsyncGenerator<DecodedItem[]> {
  const lines = splitLines(decompressed(source), options.maxDocumentBytes);
  let mode: 'unknown' | 'lines' | 'document' = 'unknown';
  const documentParts: string[] = [];
  let documentBytes = 0;
  let sawContent = false;
  try {
    for await (const line of lines) {
      if (mode === 'document') {
        documentBytes += line.bytes + 1;
        if (line.text !== undefined && documentBytes <= options.maxDocumentBytes)
          documentParts.push(line.text);
        continue;
      }
      if (line.text === undefined) {
        sawContent = true;
        mode = 'lines';
        yield [oversized(name, line, options)];
        continue;
      }
      if (line.text.trim() === '') continue;
      if (mode === 'unknown') {
        sawContent = true;
        const first = line.text.trimStart().charAt(0);
        if (first !== '{' && first !== '[') {
          yield [
            problem(
              'unknown-format',
              name,
              undefined,
              'not JSON, JSON Lines or gzip of either',
              line.text,
              options,
            ),
          ];
          return;
        }
        if (looksLikeJsonLine(line.text)) mode = 'lines';
        else {
          mode = 'document';
          documentParts.push(line.text);
          documentBytes = line.bytes + 1;
          continue;
        }
      }
      yield parseAndUnpack(name, line.number, line.text, options);
    }
  } catch (error) {
    const reason = isTruncation(error) ? 'truncated-file' : 'read-error';
    const message =
      reason === 'truncated-file'
        ? 'input ends before its gzip stream does (truncated upload or copy); records before the cut were read'
        : `cannot read: ${(error as Error).message}`;
    yield [
      {
        kind: 'problem',
        error: new InputProblemError(reason, name, undefined, message, undefined, { cause: error }),
      },
    ];
    return;
  }
  if (mode === 'document') {
    if (documentBytes > options.maxDocumentBytes) {
      yield [
        problem(
          'oversized-record',
          name,
          1,
          `document of ${documentBytes} bytes exceeds the ${options.maxDocumentBytes}-byte limit`,
          undefined,
          options,
        ),
      ];
      return;
    }
    yield parseAndUnpack(name, 1, documentParts.join('\n'), options);
  } else if (!sawContent) {
    yield [problem('unknown-format', name, undefined, 'empty input', undefined, options)];
  }
}

function parseAndUnpack(
  name: string,
  lineNumber: number,
  text: string,
  options: DecodeOptions,
): DecodedItem[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const at = lineNumber + (lineOfPosition(text, error) ?? 1) - 1;
    return [
      problem('malformed-json', name, at, `malformed JSON: ${(error as Error).message}`, text, options),
    ];
  }
  return unpackDocument(value).map((item) =>
    item.kind === 'record'
      ? { kind: 'record', source: item.source, record: item.record, line: lineNumber }
      : problem(item.reason, name, lineNumber, item.message, JSON.stringify(item.value ?? null), options),
  );
}

function isTruncation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(String((error as Error).message));
}

function problem(
  reason: InputProblemError['reason'],
  name: string,
  line: number | undefined,
  message: string,
  content: string | undefined,
  options: DecodeOptions,
): Problem {
  const kept = content === undefined ? undefined : capped(content, options.maxQuarantineBytes);
  return { kind: 'problem', error: new InputProblemError(reason, name, line, message, kept) };
}

function oversized(name: string, line: Line, options: DecodeOptions): Problem {
  return problem(
    'oversized-record',
    name,
    line.number,
    `line of ${line.bytes} bytes exceeds the ${options.maxDocumentBytes}-byte limit`,
    undefined,
    options,
  );
}
