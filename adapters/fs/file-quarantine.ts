import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { QuarantineSink } from '../../detectors/pipeline/ports.js';
import type { InputProblemError } from '../../detectors/readers/errors.js';

/**
 * Keeps every unusable input as one JSON line in `<dir>/quarantine.ndjson`:
 * where it was, why it was refused, and its text, so it can be fixed and replayed.
 */
export class FileQuarantine implements QuarantineSink {
  readonly file: string;
  count = 0;
  private ready: Promise<unknown> | undefined;

  constructor(readonly dir: string) {
    this.file = join(dir, 'quarantine.ndjson');
  }

  async put(problem: InputProblemError): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const entry = {
      time: new Date().toISOString(),
      reason: problem.reason,
      file: problem.file,
      line: problem.line,
      message: problem.message,
      content: problem.content,
    };
    this.count += 1;
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }
}
