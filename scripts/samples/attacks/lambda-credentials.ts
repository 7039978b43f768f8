/**
 * (d) The orders-api function's credentials leak (an SSRF that reads the
 * environment) and are replayed from outside AWS. The execution role's
 * policy grants secretsmanager:GetSecretValue on "*", a common shortcut, so
 * the intruder reads secret after secret; two are refused by their KMS key
 * policies. Then they scan the orders table.
 */
import { CLI_VPS } from '../agents.js';
import { scan } from '../api/platform.js';
import { getSecretValue, listSecrets } from '../api/secrets.js';
import { getCallerIdentity } from '../api/sts.js';
import { HOUR } from '../clock.js';
import { FUNCTIONS, PRIMARY_REGION, PROD, SECRETS, TABLES } from '../estate.js';
import { assumedRoleIdentity, startSession } from '../identities.js';
import { TLS13 } from '../record.js';
import type { AttackStory } from './story.js';

const ATTACKER_IP = '203.0.113.66';

/** Secrets whose KMS key policy allows only named roles: the read fails even though IAM allows it. */
const KMS_PROTECTED = new Set<string>([SECRETS.paymentsDb.name, SECRETS.jwtSigningKey.name]);

export const lambdaCredentials: AttackStory = {
  id: 'lambda-credentials-exfiltrated',
  title: "A Lambda function's credentials used from outside AWS to read many secrets",
  summary:
    'The orders-api execution role session (normally used from 10.20.x.x through VPC endpoints) is used from 203.0.113.66 with the AWS CLI: ListSecrets, GetSecretValue on most secrets, a DynamoDB Scan.',
  account: PROD,
  sourceIp: ATTACKER_IP,
  behaviours: ['workload-credentials-used-outside-aws', 'caller-identity-probe', 'secrets-bulk-read'],
  mitre: ['T1078.004', 'T1555.006', 'T1530'],
  dayFraction: 0.67,
  hour: 9.2,
  play: (scene, { timeline }) => {
    const fn = FUNCTIONS.ordersApi;
    const session =
      timeline.latestSession(fn.role, scene.now, fn.name) ??
      startSession(scene.rng, fn.role, fn.name, scene.now - HOUR);
    scene.as({
      identity: assumedRoleIdentity(session),
      account: PROD,
      sourceIPAddress: ATTACKER_IP,
      userAgent: CLI_VPS,
      tls: TLS13,
    });
    scene.gap = [2, 12];
    scene.call(getCallerIdentity(PRIMARY_REGION));
    scene.call(listSecrets(PRIMARY_REGION));
    const wanted = Object.values(SECRETS).filter((secret) => secret !== SECRETS.ordersDb);
    for (const secret of wanted) {
      const call = getSecretValue(PRIMARY_REGION, secret.name);
      if (KMS_PROTECTED.has(secret.name)) {
        scene.call(call, {
          error: { code: 'AccessDeniedException', message: 'Access to KMS is not allowed' },
        });
      } else {
        scene.call(call);
      }
    }
    for (let page = 0; page < 3; page++) scene.call(scan(PRIMARY_REGION, TABLES.orders), { gap: [1, 4] });
  },
};
