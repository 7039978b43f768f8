import { describe, expect, it } from 'vitest';
import { unpackDocument } from '../../../../detectors/readers/unpack.js';

describe('unpackDocument: GCP export shapes', () => {
  it('recognizes a LogEntry with lower-cased keys and the BigQuery payload column', () => {
    expect(unpackDocument({ insertid: 'a', protopayload: { methodName: 'x' } })).toEqual([
      expect.objectContaining({ kind: 'record', source: 'gcp.audit' }),
    ]);
    expect(unpackDocument({ protopayload_auditlog: { methodName: 'x' } })).toEqual([
      expect.objectContaining({ kind: 'record', source: 'gcp.audit' }),
    ]);
  });

  it('still reports a bare object with a method name but no audit payload', () => {
    expect(unpackDocument({ methodName: 'v1.compute.firewalls.insert' })).toEqual([
      expect.objectContaining({ kind: 'problem', reason: 'unrecognized-record' }),
    ]);
    expect(unpackDocument({ protopayload: 'not an object' })).toEqual([
      expect.objectContaining({ kind: 'problem' }),
    ]);
  });

  it('recognizes a CloudTrail record without eventTime, but not any object with eventName', () => {
    expect(
      unpackDocument({ eventVersion: '1.09', eventSource: 's3.amazonaws.com', eventName: 'ListBuckets' }),
    ).toEqual([expect.objectContaining({ kind: 'record', source: 'aws.cloudtrail' })]);
    expect(unpackDocument({ eventSource: 'x', eventName: 'y' })).toEqual([
      expect.objectContaining({ kind: 'problem' }),
    ]);
  });
});
