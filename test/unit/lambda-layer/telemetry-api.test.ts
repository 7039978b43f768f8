import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TelemetryApiError } from '../../../lambda-layer/src/errors.ts';
import { ExtensionsApiClient } from '../../../lambda-layer/src/extensions-api.ts';
import {
  keepTelemetryEvent,
  normalizeBuffering,
  subscribeTelemetry,
  TelemetryListener,
} from '../../../lambda-layer/src/telemetry-api.ts';
import { LambdaRuntimeEmulator } from '../../helpers/lambda-runtime-emulator.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/lambda-runtime');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const event = (type: string, record: unknown) => ({ time: new Date().toISOString(), type, record });

describe('keepTelemetryEvent', () => {
  it('keeps init, failed invokes, reports, extension state and out-of-memory signals', () => {
    expect(keepTelemetryEvent(event('platform.initStart', {}))).toBe(true);
    expect(keepTelemetryEvent(event('platform.report', { status: 'success' }))).toBe(true);
    expect(keepTelemetryEvent(event('platform.extension', { name: 'x' }))).toBe(true);
    for (const status of ['timeout', 'error', 'failure']) {
      expect(keepTelemetryEvent(event('platform.runtimeDone', { status }))).toBe(true);
    }
    expect(keepTelemetryEvent(event('platform.runtimeDone', { status: 'success' }))).toBe(false);
    expect(keepTelemetryEvent(event('platform.start', { requestId: 'r' }))).toBe(false);
    expect(
      keepTelemetryEvent(event('platform.initReport', { status: 'error', errorType: 'Runtime.OutOfMemory' })),
    ).toBe(true);
    expect(keepTelemetryEvent(event('function', 'FATAL ERROR: JavaScript heap out of memory'))).toBe(true);
    expect(keepTelemetryEvent(event('function', 'hello'))).toBe(false);
  });
});

describe('normalizeBuffering', () => {
  it("fills Lambda's defaults and clamps into its limits", () => {
    expect(normalizeBuffering()).toEqual({ maxItems: 1000, maxBytes: 262_144, timeoutMs: 100 });
    expect(normalizeBuffering({ maxItems: 5, maxBytes: 10 ** 9, timeoutMs: 1 })).toEqual({
      maxItems: 1000,
      maxBytes: 1_048_576,
      timeoutMs: 25,
    });
  });
});

describe('TelemetryListener with the emulated Telemetry API', () => {
  async function subscribed(buffering: { timeoutMs: number; maxItems?: number }) {
    const listener = new TelemetryListener();
    const port = await listener.start({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => listener.close());
    let client!: ExtensionsApiClient;
    let ready!: Promise<void>;
    const emulator = await LambdaRuntimeEmulator.start({
      extensions: [],
      inProcessExtensions: 1,
      runtime: {
        command: [process.execPath, join(fixtures, 'node-runtime.mjs')],
        env: { LAMBDA_TASK_ROOT: fixtures },
      },
      onListening: (runtimeApi) => {
        client = new ExtensionsApiClient(runtimeApi);
        ready = client.register('trailhound', ['INVOKE', 'SHUTDOWN']).then((r) =>
          subscribeTelemetry(runtimeApi, r.extensionId, {
            types: ['platform'],
            destinationUri: `http://sandbox.localdomain:${port}`,
            buffering,
          }),
        );
        ready.then(() => client.next()).catch(() => undefined);
      },
    });
    cleanups.push(() => emulator.stop());
    await ready;
    return { listener, emulator, client };
  }

  it('receives init events from before the subscription, and follows each invoke to runtimeDone', async () => {
    const { listener, emulator, client } = await subscribed({ timeoutMs: 25 });
    expect(emulator.subscriptions[0]).toMatchObject({
      types: ['platform'],
      buffering: { maxItems: 1000, maxBytes: 262_144, timeoutMs: 25 },
    });
    const invoking = emulator.invoke({}, 'req-a');
    while (!listener.runtimeDone('req-a')) await listener.waitForBatch(200);
    expect(listener.startOf('req-a')).toBeGreaterThan(0);
    client.next().catch(() => undefined);
    await invoking;
    await emulator.flushTelemetry();
    const types = listener.take().map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['platform.initStart', 'platform.extension', 'platform.report']),
    );
    expect(types).not.toContain('platform.start');
  });

  it('gets batches as buffered: nothing before timeoutMs, everything after', async () => {
    const { listener, emulator } = await subscribed({ timeoutMs: 400 });
    await emulator.flushTelemetry();
    const batches = listener.batches;
    const invoking = emulator.invoke({}, 'req-b');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listener.batches).toBe(batches);
    await listener.waitForBatch(1000);
    expect(listener.batches).toBe(batches + 1);
    expect(listener.runtimeDone('req-b')).toBeDefined();
    invoking.catch(() => undefined);
  });

  it('surfaces a refused subscription as TelemetryApiError', async () => {
    const { emulator, client } = await subscribed({ timeoutMs: 25 });
    const refused = subscribeTelemetry(emulator.runtimeApi, client.extensionId ?? '', {
      types: ['platform'],
      destinationUri: 'not-a-uri',
    });
    await expect(refused).rejects.toThrow(TelemetryApiError);
    await expect(refused).rejects.toMatchObject({ status: 400 });
  });
});
