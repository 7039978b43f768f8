/**
 * Machines at work in prod: Lambda functions and the EC2 web tier, plus the
 * old Jenkins box's nightly job. Workloads are what `scale` multiplies.
 *
 * Functions and instances live in the VPC and reach AWS APIs through VPC
 * endpoints, so their calls come from private addresses and name the
 * endpoint. Each Lambda sandbox gets its own role session (session name =
 * function name) from `lambda.amazonaws.com`; each instance refreshes its
 * instance-profile session (session name = instance id) through
 * `ec2.amazonaws.com`.
 */
import * as agents from '../agents.js';
import * as ec2 from '../api/ec2.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import { getSecretValue } from '../api/secrets.js';
import { assumeRole } from '../api/sts.js';
import { invokedByCaller, serviceCaller } from '../callers.js';
import { HOUR, MINUTE, SECOND } from '../clock.js';
import {
  BUCKETS,
  COMPANY_IPS,
  EC2,
  FUNCTIONS,
  type LambdaFunction,
  PRIMARY_REGION,
  PROD,
  privateIp,
  ROLES,
  SECRETS,
  type Secret,
  TABLES,
  USERS,
  VPC_ENDPOINTS,
} from '../estate.js';
import { assumedRoleIdentity, iamUserIdentity, type RoleSession, startSession } from '../identities.js';
import type { Random } from '../random.js';
import { type ApiCall, type Caller, TLS12, TLS13 } from '../record.js';
import { Scene } from '../scene.js';
import { type ActivityContext, around, days, diurnalLoad, windowEnd, windowStart } from './context.js';

// Lambda ---------------------------------------------------------------------

/**
 * One execution environment: its credentials, the private address of its
 * network interface, and the caller they make (built once: a busy sandbox
 * makes thousands of calls).
 */
export interface Sandbox {
  readonly session: RoleSession;
  readonly caller: Caller;
  readonly retiresAt: number;
}

interface FunctionProfile {
  readonly fn: LambdaFunction;
  /** Invocations per hour at peak, at scale 1. */
  readonly peakPerHour: number;
  /** Concurrent sandboxes at scale 1. */
  readonly concurrency: number;
  /** The secret the function reads once per cold start and caches. */
  readonly secret?: Secret;
  readonly agent: string | ((call: ApiCall) => string);
  /** The calls one invocation makes. */
  readonly invoke: (rng: Random) => ApiCall[];
}

const orderId = (rng: Random): string => `ord_${rng.upperAlnum(12)}`;

const PROFILES: readonly FunctionProfile[] = [
  {
    fn: FUNCTIONS.ordersApi,
    peakPerHour: 28,
    concurrency: 2,
    secret: SECRETS.ordersDb,
    agent: agents.JS_SDK_LAMBDA_NODE20,
    invoke: (rng) => [
      rng.weighted<ApiCall>([
        [platform.getItem(PRIMARY_REGION, TABLES.orders, orderId(rng)), 7],
        [platform.putItem(PRIMARY_REGION, TABLES.orders, orderId(rng)), 2],
        [platform.query(PRIMARY_REGION, TABLES.orders, 'customerId-index'), 1],
      ]),
    ],
  },
  {
    fn: FUNCTIONS.thumbnailer,
    peakPerHour: 7,
    concurrency: 1,
    agent: agents.BOTO3_LAMBDA_PYTHON312,
    invoke: (rng) => {
      const image = rng.uuid();
      return [
        s3.getObject(
          rng,
          BUCKETS.media,
          `uploads/${image}.jpg`,
          PRIMARY_REGION,
          PROD,
          rng.int(300_000, 6_000_000),
        ),
        s3.putObject(
          rng,
          BUCKETS.media,
          `thumbnails/${image}-256.jpg`,
          PRIMARY_REGION,
          PROD,
          rng.int(9_000, 40_000),
        ),
      ];
    },
  },
];

/** A new execution environment: Lambda assumes the function's role for it. */
export function startSandbox(
  context: ActivityContext,
  rng: Random,
  fn: LambdaFunction,
  at: number,
  agent: Caller['userAgent'],
): Sandbox {
  const session = startSession(rng, fn.role, fn.name, at);
  const scene = new Scene(rng, context.log, serviceCaller('lambda.amazonaws.com', fn.account), at);
  scene.call(assumeRole(rng, session, { durationSeconds: 12 * 3600, byService: true }), { gap: [0, 0] });
  const caller: Caller = {
    identity: assumedRoleIdentity(session),
    account: fn.account,
    sourceIPAddress: privateIp(rng, fn.account),
    userAgent: agent,
    tls: TLS13,
    vpcEndpoints: VPC_ENDPOINTS,
  };
  return { session, caller, retiresAt: at + rng.int(40, 150) * MINUTE };
}

/** A cold start: a new sandbox, then the function loads its secret (and caches it). */
function coldStart(context: ActivityContext, rng: Random, profile: FunctionProfile, at: number): Sandbox {
  const sandbox = startSandbox(context, rng, profile.fn, at, profile.agent);
  if (profile.secret !== undefined) {
    const scene = new Scene(rng, context.log, sandbox.caller, at);
    scene.call(getSecretValue(PRIMARY_REGION, profile.secret.arn), { gap: [0, 1] });
  }
  return sandbox;
}

function simulateFunction(context: ActivityContext, profile: FunctionProfile): void {
  const rng = context.rng.fork(profile.fn.name);
  const pool: (Sandbox | undefined)[] = new Array(
    Math.max(1, Math.round(profile.concurrency * context.scale)),
  );
  for (let hour = windowStart(context); hour < windowEnd(context); hour += HOUR) {
    const expected = profile.peakPerHour * diurnalLoad(hour) * context.scale;
    const count = Math.floor(expected * (0.8 + 0.4 * rng.next()) + rng.next());
    const times = Array.from({ length: count }, () => hour + rng.int(0, 3599) * SECOND).sort((a, b) => a - b);
    for (const at of times) {
      const slot = rng.int(0, pool.length - 1);
      let sandbox = pool[slot];
      if (sandbox === undefined || sandbox.retiresAt < at) {
        sandbox = coldStart(context, rng, profile, at);
        pool[slot] = sandbox;
      }
      const scene = new Scene(rng, context.log, sandbox.caller, at);
      for (const call of profile.invoke(rng)) scene.call(call, { gap: [0, 1], expendable: true });
    }
  }
}

/** The nightly report: one run that queries the day's orders and writes a CSV. */
function simulateNightlyReport(context: ActivityContext): void {
  const rng = context.rng.fork('report-builder');
  const profile: FunctionProfile = {
    fn: FUNCTIONS.reportBuilder,
    peakPerHour: 0,
    concurrency: 1,
    secret: SECRETS.reportSmtp,
    agent: agents.JS_SDK_LAMBDA_NODE20,
    invoke: () => [],
  };
  for (const day of days(context)) {
    const sandbox = coldStart(context, rng, profile, around(rng, day, 2, 3));
    const scene = new Scene(rng, context.log, sandbox.caller, sandbox.session.created);
    for (let page = Math.round(rng.int(5, 15) * context.scale); page > 0; page--) {
      scene.call(platform.query(PRIMARY_REGION, TABLES.orders, 'createdDate-index'), {
        gap: [0, 2],
        expendable: true,
      });
    }
    const date = new Date(day.midnight).toISOString().slice(0, 10);
    scene.call(
      s3.putObject(rng, BUCKETS.reports, `daily/${date}/orders.csv`, PRIMARY_REGION, PROD, rng.int(2e5, 4e6)),
    );
  }
}

// EC2 ------------------------------------------------------------------------

interface Instance extends platform.ManagedInstance {
  readonly from: number;
  readonly until: number;
}

function instanceCaller(instance: Instance, session: RoleSession): Caller {
  return {
    identity: assumedRoleIdentity(session, { ec2Instance: true }),
    account: PROD,
    sourceIPAddress: instance.privateIp,
    userAgent: (call) =>
      call.service === 'ssm'
        ? agents.SSM_AGENT
        : call.service === 'logs'
          ? agents.CLOUDWATCH_AGENT
          : agents.BOTO3_EC2,
    tls: TLS13,
    vpcEndpoints: VPC_ENDPOINTS,
  };
}

/** EC2 fetches fresh instance-profile credentials every few hours. */
function refreshCredentials(
  context: ActivityContext,
  rng: Random,
  instance: Instance,
  at: number,
): RoleSession {
  const session = startSession(rng, ROLES.appServer, instance.instanceId, at);
  const scene = new Scene(rng, context.log, serviceCaller('ec2.amazonaws.com', PROD), at);
  scene.call(assumeRole(rng, session, { durationSeconds: 6 * 3600, byService: true }), { gap: [0, 0] });
  return session;
}

/**
 * One instance's life in the window: boot chores when it launches inside the
 * window, an SSM heartbeat every five minutes, an hourly log archive to S3.
 */
function runInstance(
  context: ActivityContext,
  rng: Random,
  instance: Instance,
  bootsInWindow: boolean,
): void {
  // An instance already running when the window opens got its credentials before it.
  let session = bootsInWindow
    ? refreshCredentials(context, rng, instance, instance.from)
    : startSession(rng, ROLES.appServer, instance.instanceId, instance.from - rng.int(1, 300) * MINUTE);
  let renewAt = session.created + rng.int(300, 360) * MINUTE;
  let caller = instanceCaller(instance, session);
  if (bootsInWindow) {
    const boot = new Scene(rng, context.log, caller, instance.from + 40 * SECOND);
    boot.call(ec2.describeTags(PRIMARY_REGION, instance.instanceId));
    boot.call(s3.getObject(rng, BUCKETS.backups, 'config/app-server.env', PRIMARY_REGION, PROD, 2_314));
    boot.call(platform.createLogStream(PRIMARY_REGION, '/shop/web/app', instance.instanceId), {
      gap: [5, 20],
    });
  }
  let nextArchive = instance.from + rng.int(5, 60) * MINUTE;
  for (let at = instance.from + rng.int(30, 300) * SECOND; at < instance.until; at += 5 * MINUTE) {
    if (at > renewAt) {
      session = refreshCredentials(context, rng, instance, at - rng.int(1, 60) * SECOND);
      caller = instanceCaller(instance, session);
      renewAt = at + rng.int(300, 360) * MINUTE;
    }
    const beat = at + rng.int(-15, 15) * SECOND;
    const scene = new Scene(rng, context.log, caller, beat);
    scene.call(platform.updateInstanceInformation(PRIMARY_REGION, instance), {
      gap: [0, 0],
      expendable: true,
    });
    if (at >= nextArchive) {
      const hour = new Date(at).toISOString().slice(0, 13).replace('T', '/');
      const key = `app-logs/${instance.instanceId}/${hour}.log.gz`;
      scene.call(s3.putObject(rng, BUCKETS.backups, key, PRIMARY_REGION, PROD, rng.int(2e5, 9e6)), {
        gap: [1, 30],
        expendable: true,
      });
      nextArchive += HOUR;
    }
  }
}

function newInstance(rng: Random, from: number, until: number, id?: string): Instance {
  const ip = privateIp(rng, PROD);
  return {
    instanceId: id ?? ec2.ec2Id(rng, 'i'),
    privateIp: ip,
    zone: `${PRIMARY_REGION}${rng.pick(['a', 'b'])}`,
    from,
    until,
  };
}

/**
 * The web tier: always-on instances, plus an Auto Scaling scale-out for the
 * US afternoon peak on weekdays, launched and terminated by the Auto Scaling
 * service-linked role.
 */
function simulateWebTier(context: ActivityContext): void {
  const rng = context.rng.fork('web-tier');
  const size = Math.max(1, Math.round(context.scale));
  for (let n = 0; n < size; n++) {
    const instance = newInstance(
      rng,
      windowStart(context),
      windowEnd(context),
      n === 0 ? EC2.appServerInstance : undefined,
    );
    runInstance(context, rng, instance, false);
  }
  for (const day of days(context)) {
    if (day.weekend) continue;
    const launchAt = around(rng, day, 15, 20);
    const terminateAt = around(rng, day, 21.5, 20);
    const extra = Array.from({ length: size }, () => newInstance(rng, launchAt + 5 * SECOND, terminateAt));
    const session = startSession(rng, ROLES.autoScaling, 'AutoScaling', launchAt - 2 * SECOND);
    const scaling = new Scene(
      rng,
      context.log,
      serviceCaller('autoscaling.amazonaws.com', PROD),
      launchAt - 2 * SECOND,
    );
    scaling.call(assumeRole(rng, session, { byService: true }), { gap: [0, 0] });
    scaling.as(invokedByCaller(session, 'autoscaling.amazonaws.com'));
    scaling.call(
      ec2.runInstances(rng, {
        region: PRIMARY_REGION,
        account: PROD,
        imageId: EC2.goldenAmi,
        instanceType: 'c6i.large',
        instanceIds: extra.map((i) => i.instanceId),
        subnetId: rng.pick(EC2.prodSubnets),
        vpcId: EC2.prodVpc,
        launchTime: launchAt,
        launchTemplateId: EC2.launchTemplate,
      }),
    );
    for (const instance of extra) runInstance(context, rng, instance, true);
    const end = new Scene(
      rng,
      context.log,
      invokedByCaller(session, 'autoscaling.amazonaws.com'),
      terminateAt,
    );
    end.call(
      ec2.terminateInstances(
        rng,
        PRIMARY_REGION,
        extra.map((i) => i.instanceId),
      ),
      { gap: [0, 0] },
    );
  }
}

// Jenkins --------------------------------------------------------------------

/**
 * The legacy Jenkins job, nightly from the company's data-centre address with
 * AWS CLI v1 and the `svc-legacy-deploy` key: the baseline the leaked key departs from.
 */
function simulateJenkins(context: ActivityContext): void {
  const rng = context.rng.fork('jenkins');
  const user = USERS.legacyDeploy;
  const caller: Caller = {
    identity: iamUserIdentity(user),
    account: PROD,
    sourceIPAddress: COMPANY_IPS.jenkins,
    userAgent: agents.CLI_V1_JENKINS,
    tls: TLS12,
  };
  for (const day of days(context)) {
    const scene = new Scene(rng, context.log, caller, around(rng, day, 1, 10));
    const date = new Date(day.midnight).toISOString().slice(0, 10);
    scene.call(ec2.describeInstances(PRIMARY_REGION));
    scene.call(ec2.describeSnapshots(PRIMARY_REGION), { gap: [1, 3] });
    scene.call(
      s3.putObject(
        rng,
        BUCKETS.backups,
        `jenkins/${date}/db-dump.sql.gz`,
        PRIMARY_REGION,
        PROD,
        rng.int(4e8, 6e8),
      ),
      {
        gap: [60, 240],
      },
    );
  }
}

export function simulateWorkloads(context: ActivityContext): void {
  for (const profile of PROFILES) simulateFunction(context, profile);
  simulateNightlyReport(context);
  simulateWebTier(context);
  simulateJenkins(context);
}
