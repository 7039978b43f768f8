import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExtensionsApiError } from '../../../lambda-layer/src/errors.ts';
import { ExtensionsApiClient, parseExtensionEvent } from '../../../lambda-layer/src/extensions-api.ts';
import { LambdaRuntimeEmulator } from '../../helpers/lambda-runtime-emulator.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/lambda-runtime');
let emulator: LambdaRuntimeEmulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

/** Starts the emulator with the client under test as its one extension; init ends once it asks for an event. */
async function withClient(): Promise<{ client: ExtensionsApiClient; first: Promise<unknown> }> {
  let client!: ExtensionsApiClient;
  let first!: Promise<unknown>;
  emulator = await LambdaRuntimeEmulator.start({
    extensions: [],
    inProcessExtensions: 1,
    runtime: {
      command: [process.execPath, join(fixtures, 'node-runtime.mjs')],
      env: { LAMBDA_TASK_ROOT: fixtures },
    },
    onListening: (runtimeApi) => {
      client = new ExtensionsApiClient(runtimeApi);
      // The held event/next is cut when a test stops the emulator without an invoke.
      first = client.register('trailhound', ['INVOKE', 'SHUTDOWN']).then(() => client.next());
      first.catch(() => undefined);
    },
  });
  return { client, first };
}

describe('ExtensionsApiClient', () => {
  it('registers, receives INVOKE with the request id and deadline, then SHUTDOWN', async () => {
    const { client, first } = await withClient();
    expect(client.extensionId).toMatch(/^[0-9a-f-]{36}$/);
    const e = emulator as LambdaRuntimeEmulator;
    expect(e.registrations.map((r) => [r.name, r.events])).toEqual([['trailhound', ['INVOKE', 'SHUTDOWN']]]);
    const invoking = e.invoke({ actions: [] }, 'req-1');
    const event = await first;
    expect(event).toMatchObject({
      eventType: 'INVOKE',
      requestId: 'req-1',
      invokedFunctionArn: e.functionArn,
    });
    expect((event as { deadlineMs: number }).deadlineMs).toBeGreaterThan(Date.now());
    const next = client.next();
    const result = await invoking;
    expect(result.status).toBe('success');
    const shutdown = e.shutdown('spindown', 1000);
    expect(await next).toMatchObject({ eventType: 'SHUTDOWN', shutdownReason: 'spindown' });
    await shutdown;
  });

  it('reports init and exit errors with their type', async () => {
    const { client } = await withClient();
    await client.initError('Extension.ConfigInvalid', new Error('bad TRAILHOUND_MODE'));
    await client.exitError('Extension.Crashed', new Error('ring gone'));
    const errors = (emulator as LambdaRuntimeEmulator).registrations[0]?.errors ?? [];
    expect(errors.map((e) => [e.path, e.type])).toEqual([
      ['init/error', 'Extension.ConfigInvalid'],
      ['exit/error', 'Extension.Crashed'],
    ]);
    expect(JSON.parse(errors[0]?.body ?? '{}')).toMatchObject({ errorMessage: 'bad TRAILHOUND_MODE' });
  });

  it('fails typed on refusals: unregistered calls, registration after init', async () => {
    await withClient();
    const stranger = new ExtensionsApiClient((emulator as LambdaRuntimeEmulator).runtimeApi);
    await expect(stranger.next()).rejects.toThrow(ExtensionsApiError);
    const late = stranger.register('late', ['INVOKE']);
    await expect(late).rejects.toMatchObject({ name: 'ExtensionsApiError', status: 403 });
  });
});

describe('parseExtensionEvent', () => {
  it('narrows INVOKE and SHUTDOWN and refuses the rest', () => {
    expect(parseExtensionEvent('{"eventType":"SHUTDOWN","deadlineMs":5,"shutdownReason":"timeout"}')).toEqual(
      {
        eventType: 'SHUTDOWN',
        deadlineMs: 5,
        shutdownReason: 'timeout',
      },
    );
    expect(() => parseExtensionEvent('{"eventType":"INVOKE","deadlineMs":5}')).toThrow(/requestId/);
    expect(() => parseExtensionEvent('{"eventType":"RESTORE","deadlineMs":5}')).toThrow(/unknown eventType/);
    expect(() => parseExtensionEvent('nope')).toThrow(ExtensionsApiError);
  });
});
