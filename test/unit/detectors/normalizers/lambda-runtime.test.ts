import { describe, expect, it } from 'vitest';
import { NormalizationError } from '../../../../detectors/normalizers/errors.js';
import { normalizeLambdaRuntime } from '../../../../detectors/normalizers/lambda-runtime.js';
import { NormalizedEvent } from '../../../../detectors/schema/event.js';
import { runtimeRecord } from '../../../helpers/runtime-records.js';

describe('normalizeLambdaRuntime', () => {
  it('maps an exec to OCSF Process Activity with the role session as actor and the function as resource', () => {
    const event = normalizeLambdaRuntime(
      runtimeRecord('process.exec', { pid: 412, ppid: 8, path: '/bin/sh', args: ['sh', '-c', 'id'] }),
    );
    expect(NormalizedEvent.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      source: 'aws.lambda.runtime',
      class_uid: 1007,
      category_uid: 1,
      activity_id: 1,
      type_uid: 100701,
      status: 'Success',
      cloud: { provider: 'AWS', account: '111122223333', region: 'us-east-1' },
      actor: {
        user: {
          uid: 'arn:aws:iam::111122223333:role/orders-api-role',
          type: 'AssumedRole',
          name: 'orders-api-role',
        },
        session: {
          uid: 'arn:aws:sts::111122223333:assumed-role/orders-api-role/orders-api',
          name: 'orders-api',
        },
      },
      resources: [
        { uid: 'arn:aws:lambda:us-east-1:111122223333:function:orders-api', type: 'AWS::Lambda::Function' },
      ],
      runtime: { kind: 'process.exec', phase: 'invoke', denied: false, function: { version: '$LATEST' } },
      process: {
        pid: 412,
        name: 'sh',
        cmd_line: 'sh -c id',
        parent_process: { pid: 8 },
        file: { path: '/bin/sh' },
      },
    });
  });

  it('treats spawn and system as launched by the caller: the caller is the parent, the new pid unknown', () => {
    const spawned = normalizeLambdaRuntime(
      runtimeRecord('process.spawn', { pid: 8, ppid: 1, path: '/usr/bin/curl' }),
    );
    expect(spawned.process).toMatchObject({ name: 'curl', parent_process: { pid: 8 } });
    expect(spawned.process?.pid).toBeUndefined();
    const system = normalizeLambdaRuntime(runtimeRecord('process.system', { pid: 8, args: ['ls /tmp'] }));
    expect(system.process).toMatchObject({
      name: 'sh',
      cmd_line: 'sh -c ls /tmp',
      file: { path: '/bin/sh' },
    });
  });

  it('maps connections, DNS and files to their classes', () => {
    const connect = normalizeLambdaRuntime(
      runtimeRecord('network.connect', { pid: 8, path: '127.0.0.1', port: 9001, family: 'ipv4' }),
    );
    expect(connect).toMatchObject({
      class_uid: 4001,
      dst_endpoint: { ip: '127.0.0.1', port: 9001, is_private: true },
    });
    const out = normalizeLambdaRuntime(runtimeRecord('network.connect', { path: '203.0.113.5', port: 443 }));
    expect(out.dst_endpoint?.is_private).toBe(false);
    const dns = normalizeLambdaRuntime(
      runtimeRecord('network.dns', { path: 'Example.COM.', addresses: ['203.0.113.5'] }),
    );
    expect(dns).toMatchObject({
      class_uid: 4003,
      query: { hostname: 'example.com' },
      answers: [{ rdata: '203.0.113.5' }],
    });
    const file = normalizeLambdaRuntime(runtimeRecord('file.chmod-exec', { pid: 9, path: '/tmp/x/run' }));
    expect(file).toMatchObject({
      class_uid: 1001,
      activity_id: 6,
      file: { name: 'run', parent_folder: '/tmp/x' },
    });
  });

  it('keeps platform and health records as events, and marks denials and failures', () => {
    const init = normalizeLambdaRuntime(
      runtimeRecord('platform.event', {
        request_id: undefined,
        platform: { type: 'platform.initStart', record: { phase: 'init' } },
      }),
    );
    expect(init).toMatchObject({ class_uid: 6002, activity_name: 'Start', runtime: { phase: 'init' } });
    const denied = normalizeLambdaRuntime(runtimeRecord('network.connect', { denied: true, result: -1 }));
    expect(denied.status).toBe('Failure');
    expect(denied.runtime.denied).toBe(true);
  });

  it('derives a deterministic uid from function, pid, time, kind and path', () => {
    const a = normalizeLambdaRuntime(runtimeRecord('process.exec', { pid: 1, path: '/bin/sh' }));
    const b = normalizeLambdaRuntime(runtimeRecord('process.exec', { pid: 1, path: '/bin/sh' }));
    const c = normalizeLambdaRuntime(runtimeRecord('process.exec', { pid: 1, path: '/bin/bash' }));
    expect(a.metadata.uid).toBe(b.metadata.uid);
    expect(a.metadata.uid).not.toBe(c.metadata.uid);
  });

  it('falls back to the function as actor and builds the ARN when the record lacks them', () => {
    const record = runtimeRecord('process.exec', { path: '/bin/sh' });
    const fn = record.function as Record<string, unknown>;
    delete fn.arn;
    delete fn.role_session;
    const event = normalizeLambdaRuntime(record);
    expect(event.actor.user).toMatchObject({
      uid: 'arn:aws:lambda:us-east-1:111122223333:function:orders-api',
      type: 'Application',
    });
  });

  it('rejects a record with the marker but not the shape', () => {
    expect(() =>
      normalizeLambdaRuntime({ trailhound_runtime: 1, kind: 'process.exec', time: 'soon' }),
    ).toThrow(NormalizationError);
  });
});
