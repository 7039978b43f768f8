import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeCloudTrail } from '../../../detectors/normalizers/cloudtrail.js';
import { DECOYS } from '../../../scripts/samples/activities/decoys.js';
import { ATTACKS, type InjectedAttack } from '../../../scripts/samples/attacks.js';
import { BEHAVIOURS } from '../../../scripts/samples/behaviours.js';
import { ACCOUNTS, ORG_ID, PROD } from '../../../scripts/samples/estate.js';
import { writeJsonLines, writeOrgTrail } from '../../../scripts/samples/org-trail-writer.js';
import { Random } from '../../../scripts/samples/random.js';
import type { CloudTrailRecord } from '../../../scripts/samples/record.js';
import { buildSample } from '../../../scripts/samples/sample.js';
import { generateTraffic } from '../../../scripts/samples/traffic.js';

const OPTIONS = { seed: 20260302, start: new Date('2026-03-02T00:00:00Z'), days: 3 };
const sample = buildSample(OPTIONS);
const attackIds = new Set(sample.attacks.flatMap((attack) => attack.eventIds));
const traffic = sample.records.filter((record) => !attackIds.has(record.eventID));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** Documentation ranges (RFC 5737), VPC-private addresses, or an AWS service name. */
const ALLOWED_SOURCE =
  /^((198\.51\.100|203\.0\.113|192\.0\.2)\.\d{1,3}|10\.\d{1,3}\.\d{1,3}\.\d{1,3}|[a-z0-9-]+\.amazonaws\.com)$/;

const temporaryDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'trailhound-samples-'));
  temporaryDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => name.split(sep).join('/'))
    .sort();
}

const story = (id: string): { attack: InjectedAttack; records: CloudTrailRecord[] } => {
  const attack = sample.attacks.find((a) => a.id === id);
  if (attack === undefined) throw new Error(`no attack ${id}`);
  const ids = new Set(attack.eventIds);
  return { attack, records: sample.records.filter((record) => ids.has(record.eventID)) };
};

/** Problems found in `records` by `check`, the first few, so one failure names the record. */
function problems(
  records: readonly CloudTrailRecord[],
  check: (record: CloudTrailRecord) => string | undefined,
) {
  return records
    .map((record) => {
      const problem = check(record);
      return problem === undefined ? undefined : `${record.eventName} ${record.eventID}: ${problem}`;
    })
    .filter((problem) => problem !== undefined)
    .slice(0, 5);
}

describe('Random', () => {
  it('gives the same sequence for the same seed, and forks independent of what the parent drew', () => {
    const a = Random.from(7);
    const b = Random.from(7);
    b.next();
    b.next();
    expect(Array.from({ length: 5 }, () => Random.from(7).next())).toEqual(
      Array.from({ length: 5 }, () => Random.from(7).next()),
    );
    expect(a.fork('alice').uuid()).toBe(b.fork('alice').uuid());
    expect(Random.from(7).next()).not.toBe(Random.from(8).next());
  });

  it('keeps int() within its bounds and uuid() in version-4 layout', () => {
    const rng = Random.from('bounds');
    for (let i = 0; i < 2000; i++) {
      const n = rng.int(-3, 3);
      expect(n).toBeGreaterThanOrEqual(-3);
      expect(n).toBeLessThanOrEqual(3);
    }
    expect(rng.uuid()).toMatch(UUID);
  });
});

describe('the sample', () => {
  it('is byte-identical for the same seed and differs for another', () => {
    expect(JSON.stringify(buildSample(OPTIONS).records)).toBe(JSON.stringify(sample.records));
    expect(JSON.stringify(buildSample({ ...OPTIONS, seed: 1 }).records)).not.toBe(
      JSON.stringify(sample.records),
    );
  });

  it('has a few thousand records, sorted by eventTime, inside the window', () => {
    expect(sample.records.length).toBeGreaterThan(3000);
    expect(sample.records.length).toBeLessThan(6000);
    const times = sample.records.map((record) => record.eventTime);
    expect(times.every((time, i) => i === 0 || (times[i - 1] as string) <= time)).toBe(true);
    expect((times[0] as string) >= '2026-03-02T00:00:00Z').toBe(true);
    expect((times.at(-1) as string) < '2026-03-05T00:00:00Z').toBe(true);
  });

  it('gives every record a unique eventID', () => {
    const ids = sample.records.map((record) => record.eventID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      problems(sample.records, (r) => (UUID.test(r.eventID) ? undefined : 'eventID is not a UUID')),
    ).toEqual([]);
  });

  it('writes the fields of a CloudTrail record on every record', () => {
    const found = problems(sample.records, (r) => {
      if (r.eventVersion !== '1.09' && r.eventVersion !== '1.10') return `eventVersion ${r.eventVersion}`;
      if (!EVENT_TIME.test(r.eventTime)) return `eventTime ${r.eventTime}`;
      if (!r.eventSource.endsWith('.amazonaws.com')) return `eventSource ${r.eventSource}`;
      if (!/^[A-Z][A-Za-z0-9]+$/.test(r.eventName)) return `eventName ${r.eventName}`;
      if (!/^[a-z]{2}-[a-z]+-\d$/.test(r.awsRegion)) return `awsRegion ${r.awsRegion}`;
      if (!ALLOWED_SOURCE.test(r.sourceIPAddress)) return `sourceIPAddress ${r.sourceIPAddress}`;
      if (typeof r.userAgent !== 'string' || r.userAgent === '') return 'no userAgent';
      if (!('requestParameters' in r) || !('responseElements' in r))
        return 'requestParameters/responseElements missing';
      if (typeof r.readOnly !== 'boolean' || typeof r.managementEvent !== 'boolean')
        return 'readOnly/managementEvent';
      if (!['AwsApiCall', 'AwsServiceEvent', 'AwsConsoleSignIn'].includes(r.eventType))
        return `eventType ${r.eventType}`;
      if (!(ACCOUNTS as readonly string[]).includes(r.recipientAccountId))
        return `recipientAccountId ${r.recipientAccountId}`;
      if (r.eventCategory !== (r.managementEvent ? 'Management' : 'Data'))
        return `eventCategory ${r.eventCategory}`;
      if (r.eventType === 'AwsApiCall' && r.requestID === undefined) return 'an API call without requestID';
      if ((r.errorCode !== undefined) !== (r.errorMessage !== undefined) && r.eventName !== 'ConsoleLogin') {
        return 'errorCode without errorMessage';
      }
      if (r.errorCode !== undefined && r.responseElements !== null) return 'a failed call with a response';
      const aws = r.sourceIPAddress.endsWith('.amazonaws.com');
      if (aws === (r.tlsDetails !== undefined))
        return aws ? 'AWS-internal call with TLS details' : 'no tlsDetails';
      if (r.sessionCredentialFromConsole !== undefined && r.sessionCredentialFromConsole !== 'true') {
        return 'sessionCredentialFromConsole is not "true"';
      }
      return undefined;
    });
    expect(found).toEqual([]);
  });

  it('shapes userIdentity as CloudTrail does for each principal type', () => {
    const found = problems(sample.records, ({ userIdentity: u, eventType }) => {
      switch (u.type) {
        case 'IAMUser':
          return u.userName && u.arn?.includes(':user/') && u.principalId?.startsWith('AIDA')
            ? undefined
            : 'IAMUser';
        case 'AssumedRole': {
          const issuer = u.sessionContext?.sessionIssuer;
          const attributes = u.sessionContext?.attributes;
          if (!u.arn?.startsWith('arn:aws:sts::') || !u.accessKeyId?.startsWith('ASIA'))
            return 'AssumedRole arn/key';
          if (issuer === undefined || !('arn' in issuer) || !issuer.arn.includes(':role/'))
            return 'sessionIssuer';
          if (!attributes || !EVENT_TIME.test(attributes.creationDate)) return 'attributes.creationDate';
          return ['true', 'false'].includes(attributes.mfaAuthenticated) ? undefined : 'mfaAuthenticated';
        }
        case 'Root':
          return u.arn === `arn:aws:iam::${u.accountId}:root` ? undefined : 'Root arn';
        case 'AWSService':
          return u.invokedBy?.endsWith('.amazonaws.com') ? undefined : 'AWSService without invokedBy';
        case 'AWSAccount':
          return u.accountId === 'ANONYMOUS_PRINCIPAL' ? undefined : 'AWSAccount';
        case 'SAMLUser':
        case 'WebIdentityUser':
          return u.identityProvider && u.userName ? undefined : `${u.type} provider`;
        case undefined:
          return eventType === 'AwsServiceEvent' && u.invokedBy ? undefined : 'identity without type';
      }
    });
    expect(found).toEqual([]);
    const types = new Set(sample.records.map((r) => r.userIdentity.type));
    for (const type of ['IAMUser', 'AssumedRole', 'Root', 'AWSService', 'SAMLUser', 'WebIdentityUser']) {
      expect(types).toContain(type);
    }
    expect(sample.records.some((r) => r.userIdentity.sessionContext?.ec2RoleDelivery === '2.0')).toBe(true);
    expect(sample.records.some((r) => r.sessionCredentialFromConsole === 'true')).toBe(true);
    expect(sample.records.some((r) => r.eventCategory === 'Data')).toBe(true);
    expect(
      sample.records.some((r) => r.errorCode === 'AccessDenied' || r.errorCode === 'AccessDeniedException'),
    ).toBe(true);
  });

  it('normalizes without error, record by record', () => {
    const failures = sample.records.flatMap((record) => {
      try {
        normalizeCloudTrail(record as unknown as Record<string, unknown>);
        return [];
      } catch (error) {
        return [`${record.eventID}: ${(error as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });

  it('meets an exact target volume by scaling workloads, attacks included', () => {
    const big = buildSample({ ...OPTIONS, days: 2, targetEvents: 12_000 });
    expect(big.records.length).toBe(12_000);
    expect(big.attacks.every((attack) => attack.eventIds.length > 0)).toBe(true);
    expect(generateTraffic({ ...OPTIONS, targetEvents: 7_000 })).toHaveLength(7_000);
  });

  it('rejects impossible options', () => {
    expect(() => buildSample({ ...OPTIONS, days: 0 })).toThrow(RangeError);
    expect(() => buildSample({ ...OPTIONS, targetEvents: -5 })).toThrow(RangeError);
  });
});

describe('attack stories', () => {
  it('are all injected, with known behaviour names and events in the sample', () => {
    expect(sample.attacks.map((a) => a.id).sort()).toEqual(ATTACKS.map((a) => a.id).sort());
    for (const attack of sample.attacks) {
      expect(attack.eventIds.length).toBeGreaterThan(5);
      for (const behaviour of attack.behaviours) expect(Object.keys(BEHAVIOURS)).toContain(behaviour);
      expect(story(attack.id).records).toHaveLength(attack.eventIds.length);
      expect(story(attack.id).records.every((r) => r.recipientAccountId === attack.account)).toBe(true);
    }
    for (const decoy of DECOYS)
      for (const behaviour of decoy.resembles) expect(Object.keys(BEHAVIOURS)).toContain(behaviour);
  });

  it('(a) leaked key: discovery, backdoor admin user with a key, trail stopped, deliveries end', () => {
    const { records } = story('leaked-access-key');
    expect(records[0]?.eventName).toBe('GetCallerIdentity');
    expect(
      records.every(
        (r) => r.userIdentity.userName === 'svc-legacy-deploy' && r.sourceIPAddress === '203.0.113.77',
      ),
    ).toBe(true);
    expect(new Set(records.map((r) => r.eventSource)).size).toBeGreaterThanOrEqual(6);
    const names = records.map((r) => r.eventName);
    expect(names).toEqual(
      expect.arrayContaining(['CreateUser', 'CreateAccessKey', 'AttachUserPolicy', 'StopLogging']),
    );
    const keyFor = records.find((r) => r.eventName === 'CreateAccessKey')?.requestParameters?.userName;
    expect(keyFor).not.toBe('svc-legacy-deploy');
    expect(records.find((r) => r.eventName === 'AttachUserPolicy')?.requestParameters?.policyArn).toBe(
      'arn:aws:iam::aws:policy/AdministratorAccess',
    );
    const stop = records.find((r) => r.eventName === 'StopLogging');
    expect(stop?.errorCode).toBeUndefined();
    const deliveries = traffic.filter(
      (r) => r.eventName === 'GenerateDataKey' && r.userIdentity.invokedBy === 'cloudtrail.amazonaws.com',
    );
    expect(deliveries.length).toBeGreaterThan(10);
    expect(deliveries.every((r) => r.eventTime < (stop?.eventTime ?? ''))).toBe(true);
    // The benign baseline of that key: Jenkins, from the company's address.
    const baseline = traffic.filter(
      (r) => r.userIdentity.accessKeyId === records[0]?.userIdentity.accessKeyId,
    );
    expect(baseline.length).toBeGreaterThan(0);
    expect(baseline.every((r) => r.sourceIPAddress === '198.51.100.40')).toBe(true);
  });

  it('(b) hijacked admin session: public snapshot and public bucket policy, same session used from the office', () => {
    const { records } = story('public-snapshot-and-bucket');
    const share = records.find((r) => r.eventName === 'ModifySnapshotAttribute');
    expect(share?.requestParameters?.createVolumePermission).toEqual({ add: { items: [{ group: 'all' }] } });
    const policy = records.find((r) => r.eventName === 'PutBucketPolicy')?.requestParameters?.bucketPolicy;
    expect(JSON.stringify(policy)).toContain('"Principal":"*"');
    expect(records.some((r) => r.eventName === 'DeleteBucketPublicAccessBlock')).toBe(true);
    const key = share?.userIdentity.accessKeyId;
    expect(
      traffic.some((r) => r.userIdentity.accessKeyId === key && r.sourceIPAddress.startsWith('198.51.100.')),
    ).toBe(true);
  });

  it('(c) root signs in without MFA from a new address and schedules KMS key deletion', () => {
    const { records } = story('root-login-key-deletion');
    const login = records.find((r) => r.eventName === 'ConsoleLogin');
    expect(login?.userIdentity.type).toBe('Root');
    expect(login?.additionalEventData?.MFAUsed).toBe('No');
    const deletion = records.find((r) => r.eventName === 'ScheduleKeyDeletion');
    expect(deletion?.userIdentity.type).toBe('Root');
    expect(deletion && login && deletion.eventTime > login.eventTime).toBe(true);
    expect(traffic.some((r) => r.userIdentity.type === 'Root')).toBe(false);
  });

  it('(d) a Lambda role session read from outside AWS reads many secrets', () => {
    const { records } = story('lambda-credentials-exfiltrated');
    const reads = records.filter((r) => r.eventName === 'GetSecretValue');
    expect(new Set(reads.map((r) => r.requestParameters?.secretId)).size).toBeGreaterThanOrEqual(8);
    expect(reads.every((r) => r.sourceIPAddress === '203.0.113.66')).toBe(true);
    const key = reads[0]?.userIdentity.accessKeyId;
    const usual = traffic.filter((r) => r.userIdentity.accessKeyId === key);
    expect(usual.length).toBeGreaterThan(0);
    expect(usual.every((r) => r.sourceIPAddress.startsWith('10.20.') && r.vpcEndpointId !== undefined)).toBe(
      true,
    );
  });

  it('(e) crypto-mining: p3.16xlarge instances in a region nobody else uses', () => {
    const { records } = story('crypto-mining');
    const launched = records.filter((r) => r.eventName === 'RunInstances' && r.errorCode === undefined);
    expect(launched).toHaveLength(1);
    expect(launched[0]?.awsRegion).toBe('ap-southeast-1');
    expect(launched[0]?.requestParameters?.instanceType).toBe('p3.16xlarge');
    const instances =
      (launched[0]?.responseElements?.instancesSet as { items: unknown[] } | undefined)?.items ?? [];
    expect(instances.length).toBeGreaterThanOrEqual(4);
    expect(traffic.some((r) => r.awsRegion === 'ap-southeast-1')).toBe(false);
  });

  it('leave the benign traffic free of their signatures, while the decoys resemble them', () => {
    expect(traffic.some((r) => r.eventName === 'StopLogging')).toBe(false);
    const publicShare = (r: CloudTrailRecord) =>
      JSON.stringify(r.requestParameters?.createVolumePermission ?? {}).includes(
        '"add":{"items":[{"group":"all"}]',
      );
    expect(traffic.some(publicShare)).toBe(false);
    const decoyNames = traffic.map((r) => r.eventName);
    expect(decoyNames).toEqual(
      expect.arrayContaining([
        'AuthorizeSecurityGroupIngress',
        'ModifySnapshotAttribute',
        'ModifyImageAttribute',
        'PutBucketPolicy',
        'CreateRole',
        'UpdateFunctionCode20150331v2',
        'ScheduleKeyDeletion',
        'CreateAccessKey',
      ]),
    );
    const ingress = traffic.find((r) => r.eventName === 'AuthorizeSecurityGroupIngress');
    expect(JSON.stringify(ingress?.requestParameters)).toContain('10.20.0.0/16');
  });
});

describe('writeOrgTrail', () => {
  const first = tempDir();
  const written = writeOrgTrail(first, sample.records, { seed: OPTIONS.seed });

  it('writes the same bytes for the same records and seed', () => {
    const second = tempDir();
    writeOrgTrail(second, sample.records, { seed: OPTIONS.seed });
    const files = filesUnder(first);
    expect(filesUnder(second)).toEqual(files);
    for (const file of files)
      expect(readFileSync(join(second, file)).equals(readFileSync(join(first, file)))).toBe(true);
  });

  it('lays files out as an organization trail does, each a gzip of {"Records": [...]}', () => {
    const layout = new RegExp(
      `^AWSLogs/${ORG_ID}/(\\d{12})/CloudTrail/([a-z0-9-]+)/(\\d{4})/(\\d{2})/(\\d{2})/\\1_CloudTrail_\\2_(\\d{8})T(\\d{4})Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
    );
    let total = 0;
    for (const file of written) {
      const match = layout.exec(file.key);
      expect(match, file.key).not.toBeNull();
      const [, account, region, yyyy, mm, dd, stamp] = match as RegExpExecArray;
      expect(stamp).toBe(`${yyyy}${mm}${dd}`);
      const document = JSON.parse(gunzipSync(readFileSync(join(first, file.key))).toString('utf8')) as {
        Records: CloudTrailRecord[];
      };
      expect(Object.keys(document)).toEqual(['Records']);
      expect(document.Records).toHaveLength(file.records);
      for (const record of document.Records) {
        expect(record.recipientAccountId).toBe(account);
        expect(record.awsRegion).toBe(region);
      }
      total += document.Records.length;
    }
    expect(total).toBe(sample.records.length);
    expect(written.some((file) => file.key.includes(`/${PROD}/CloudTrail/us-east-1/`))).toBe(true);
  });

  it('dates each file by its delivery, after the last event it holds', () => {
    for (const file of written) {
      const document = JSON.parse(gunzipSync(readFileSync(join(first, file.key))).toString('utf8')) as {
        Records: CloudTrailRecord[];
      };
      const stamp = /_(\d{8}T\d{4})Z_/.exec(file.key)?.[1] ?? '';
      const delivered = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11)}`;
      const last = document.Records.at(-1) as CloudTrailRecord;
      expect(last.eventTime.slice(0, 16) <= delivered, file.key).toBe(true);
    }
  });

  it('writes JSON Lines that read back to the same records', () => {
    const file = join(tempDir(), 'nested', 'events.jsonl');
    writeJsonLines(file, sample.records.slice(0, 2500));
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2500);
    expect(JSON.parse(lines[2499] as string)).toEqual(sample.records[2499]);
  });
});
