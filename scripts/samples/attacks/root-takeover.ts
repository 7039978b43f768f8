/**
 * (c) In the middle of the US night someone resets prod's root password through the
 * "forgot password" e-mail (the mailbox was compromised), signs in without
 * MFA from an address never seen before, and schedules the customer-managed
 * keys protecting orders data and backups for deletion: ransom leverage.
 */
import { FIREFOX_LINUX } from '../agents.js';
import * as iam from '../api/iam.js';
import * as secrets from '../api/secrets.js';
import { consoleLogin, passwordRecovery } from '../api/sts.js';
import { KMS_KEYS, PRIMARY_REGION, PROD } from '../estate.js';
import { rootIdentity, temporaryKeyId } from '../identities.js';
import { TLS13 } from '../record.js';
import type { AttackStory } from './story.js';

const ATTACKER_IP = '203.0.113.9';

export const rootTakeover: AttackStory = {
  id: 'root-login-key-deletion',
  title: 'Root console login without MFA, then KMS keys scheduled for deletion',
  summary:
    'Root password recovery and ConsoleLogin with MFAUsed "No" from 203.0.113.9, then ScheduleKeyDeletion on alias/orders-data and alias/app-backups.',
  account: PROD,
  sourceIp: ATTACKER_IP,
  behaviours: ['root-console-login-without-mfa', 'root-activity', 'kms-key-deletion-scheduled'],
  mitre: ['T1078.004', 'T1485'],
  dayFraction: 0.67,
  hour: 5.5,
  play: (scene) => {
    const signIn = { account: PROD, sourceIPAddress: ATTACKER_IP, userAgent: FIREFOX_LINUX, tls: TLS13 };
    scene.as({ ...signIn, identity: rootIdentity(PROD) });
    scene.gap = [3, 30];
    scene.call(passwordRecovery('PasswordRecoveryRequested'));
    scene.call(passwordRecovery('PasswordRecoveryCompleted'), { gap: [90, 300] });
    scene.call(consoleLogin({ mfaUsed: false }), { gap: [20, 60] });

    scene.as({
      ...signIn,
      identity: rootIdentity(PROD, {
        accessKeyId: temporaryKeyId(scene.rng),
        console: { created: scene.now, mfa: false },
      }),
      fromConsole: true,
    });
    scene.call(iam.getAccountSummary());
    scene.call(secrets.listKeys(PRIMARY_REGION), { gap: [20, 90] });
    scene.call(secrets.listAliases(PRIMARY_REGION), { gap: [0, 2] });
    for (const key of [KMS_KEYS.ordersData, KMS_KEYS.appBackups]) {
      scene.call(secrets.describeKey(PRIMARY_REGION, key, PROD));
      scene.call(secrets.scheduleKeyDeletion(PRIMARY_REGION, key, PROD, scene.now, 7), { gap: [15, 60] });
    }
  },
};
