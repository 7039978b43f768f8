import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AggregatorState } from '../../detectors/engine/aggregator.js';
import type { FindingStateStore } from '../../detectors/pipeline/ports.js';

/** Dedup and threshold state of `trailhound scan --state DIR`, kept as one JSON file written atomically. */
export class FileFindingStateStore implements FindingStateStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'findings-state.json');
  }

  async load(): Promise<AggregatorState | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
    const state = JSON.parse(text) as AggregatorState;
    if (state.version !== 1)
      throw new Error(`${this.file}: unsupported state version ${String(state.version)}`);
    return state;
  }

  async save(state: AggregatorState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(state));
    await rename(temporary, this.file);
  }
}
