/** Where the CDK app finds what it deploys, independent of the directory `cdk` runs in. */
import { fileURLToPath } from 'node:url';

/** A file of the repository, from its path relative to the root (this file lives in `<root>/cdk/`). */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}
