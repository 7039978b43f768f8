import { describe, expect, it } from 'vitest';
import { extractFeatures } from '../../../../detectors/baselines/features.js';
import { documentationNetworkLookup } from '../../../../detectors/enrichment/documentation-networks.js';
import { normalizeLambdaRuntime } from '../../../../detectors/normalizers/lambda-runtime.js';
import { runtimeRecord } from '../../../helpers/runtime-records.js';

const features = (kind: string, fields: Record<string, unknown>) =>
  extractFeatures(normalizeLambdaRuntime(runtimeRecord(kind, fields)), documentationNetworkLookup);

describe('runtime features', () => {
  it('learns runtime events per function version only, never on the role or the account', () => {
    expect(features('process.exec', { path: '/bin/sh' })).toMatchObject({
      subjects: { function: 'function:111122223333:orders-api:$LATEST' },
      values: { executable: ['/bin/sh'] },
    });
    expect(features('process.exec', { path: '/bin/sh' })?.subjects).toEqual({
      function: 'function:111122223333:orders-api:$LATEST',
    });
  });

  it('learns a connection as address:port and network:port, a lookup as its name, a file by its shape', () => {
    expect(features('network.connect', { path: '198.51.100.20', port: 443 })?.values).toEqual({
      destination: ['198.51.100.20:443'],
      network: ['AS64500:443'],
    });
    expect(features('network.connect', { path: '10.0.0.5', port: 5432 })?.values.network).toEqual([
      'private:5432',
    ]);
    expect(features('network.dns', { path: 'api.example.com' })?.values).toEqual({
      destination: ['api.example.com'],
    });
    expect(features('file.write-tmp', { path: '/tmp/tmpa81f3c9/out.123' })?.values).toEqual({
      path: ['/tmp/tmp*/out.*'],
    });
  });

  it('learns nothing from platform and health records or from calls enforce mode refused', () => {
    expect(features('platform.event', { platform: { type: 'platform.report', record: {} } })).toBeUndefined();
    expect(
      features('collector.health', { health: { written: 1, dropped: 0, denied: 0, errors: [] } }),
    ).toBeUndefined();
    expect(features('process.exec', { path: '/usr/bin/curl', denied: true })).toBeUndefined();
  });
});
