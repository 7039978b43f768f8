/**
 * DynamoDB on this machine: dynalite (DynamoDB's API over LevelDB) started
 * in-process on 127.0.0.1 with an ephemeral port, for `trailhound scan
 * --baselines` and the tests. Persisted under a folder when one is given, in
 * memory otherwise. Local only: the client carries dummy credentials.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ProfileStoreError } from './errors.js';

export interface LocalDynamoOptions {
  /** LevelDB folder to keep the tables in (created if missing); in memory when absent. */
  readonly path?: string;
  /** The client's attempts per call (the SDK retries throttling and transient errors). Default 5. */
  readonly maxAttempts?: number;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Stops the client and the server and closes the LevelDB folder. */
  close(): Promise<void>;
}

/** Region and credentials of local mode; nothing with them reaches AWS. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'trailhound-local', secretAccessKey: 'trailhound-local' };

export async function startLocalDynalite(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const unlock = options.path !== undefined ? await lockFolder(options.path) : async () => undefined;
  let server: ReturnType<typeof dynalite>;
  try {
    server = await listen(options.path);
  } catch (error) {
    await unlock();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 5,
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      client.destroy();
      server.closeAllConnections();
      try {
        await new Promise<void>((resolve, reject) =>
          server.close((error?: Error) => (error ? reject(error) : resolve())),
        );
      } finally {
        await unlock();
      }
    })();
    return closed;
  };
  return { endpoint, client, close };
}

async function listen(path: string | undefined): Promise<ReturnType<typeof dynalite>> {
  const server = dynalite({
    ...(path !== undefined ? { path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

const LOCK_FILE = 'trailhound.lock';

/**
 * LevelDB lets one process at a time use a folder, and dynalite fails hard
 * when it cannot: take a lock file with our pid first, and say who holds it.
 * A lock left by a process that no longer runs is taken over.
 */
async function lockFolder(path: string): Promise<() => Promise<void>> {
  await mkdir(path, { recursive: true });
  const file = join(path, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder))
        throw new ProfileStoreError(
          `the local profile database in ${path} is in use by process ${holder} (another trailhound run); wait for it or use another --state folder`,
          { table: '*' },
        );
      await rm(file, { force: true });
    }
  }
  throw new ProfileStoreError(`could not lock ${file}`, { table: '*' });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
