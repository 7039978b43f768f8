import { describe, expect, it } from 'vitest';
import { decodeInput } from '../../../../detectors/readers/decode.js';
import { unpackDocument } from '../../../../detectors/readers/unpack.js';
import { runtimeRecord } from '../../../helpers/runtime-records.js';

async function decodeAll(text: string) {
  const items = [];
  for await (const batch of decodeInput('input', [Buffer.from(text)])) items.push(...batch);
  return items;
}

describe('readers: runtime collector records', () => {
  it('recognizes a runtime record line by its marker', () => {
    expect(unpackDocument(runtimeRecord('process.exec', { path: '/bin/sh' }))).toEqual([
      expect.objectContaining({ kind: 'record', source: 'aws.lambda.runtime' }),
    ]);
  });

  it('reads JSON Lines of runtime records, platform and health records included', async () => {
    const lines = [
      runtimeRecord('platform.event', { platform: { type: 'platform.initStart', record: {} } }),
      runtimeRecord('network.connect', { path: '203.0.113.5', port: 443 }),
      runtimeRecord('collector.health', { health: { written: 3, dropped: 0, denied: 0, errors: [] } }),
    ].map((r) => JSON.stringify(r));
    const items = await decodeAll(lines.join('\n'));
    expect(items.map((i) => (i.kind === 'record' ? i.source : i.kind))).toEqual([
      'aws.lambda.runtime',
      'aws.lambda.runtime',
      'aws.lambda.runtime',
    ]);
  });

  it('unpacks runtime records from a decoded CloudWatch Logs subscription payload, passing over other logs', () => {
    const exec = runtimeRecord('process.exec', { path: '/bin/sh' });
    const payload = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: '/aws/lambda/orders-api',
      logStream: '2026/03/06/[$LATEST]abc',
      subscriptionFilters: ['trailhound'],
      logEvents: [
        { id: '1', timestamp: 1, message: JSON.stringify(exec) },
        { id: '2', timestamp: 2, message: 'START RequestId: 8f5a2b1c Version: $LATEST' },
        {
          id: '3',
          timestamp: 3,
          message: `2026-03-06T00:00:00.000Z\t8f5a2b1c\tINFO\t${JSON.stringify(exec)}`,
        },
        { id: '4', timestamp: 4, message: '{"level":"info","msg":"order stored"}' },
        { id: '5', timestamp: 5, message: '{"trailhound_runtime":1,"kind":' },
      ],
    };
    const items = unpackDocument(payload);
    expect(items).toEqual([
      { kind: 'record', source: 'aws.lambda.runtime', record: exec },
      { kind: 'record', source: 'aws.lambda.runtime', record: exec },
      expect.objectContaining({ kind: 'problem', reason: 'malformed-json' }),
    ]);
  });

  it('yields nothing for a control message', () => {
    expect(
      unpackDocument({ messageType: 'CONTROL_MESSAGE', logEvents: [{ id: '', timestamp: 0, message: 'x' }] }),
    ).toEqual([]);
  });
});
