/**
 * The team: five people with their own accounts, ways in, addresses and
 * habits. They work US office hours (about 13:00–22:00 UTC), mostly from the
 * office, sometimes from home, rarely at weekends.
 */
import * as agents from '../agents.js';
import * as iam from '../api/iam.js';
import { assumeRoleWithSaml, consoleLogin, getCallerIdentity } from '../api/sts.js';
import { HOUR, MINUTE } from '../clock.js';
import { COMPANY_IPS, DEV, PROD, SSO_ROLES, SSO_SAML, USERS } from '../estate.js';
import {
  assumedRoleIdentity,
  type IamUser,
  iamUserIdentity,
  longTermKeyId,
  type Role,
  samlUserIdentity,
  startSession,
  temporaryKeyId,
} from '../identities.js';
import type { Random } from '../random.js';
import { type ApiCall, type Caller, TLS13 } from '../record.js';
import { Scene } from '../scene.js';
import { type ActivityContext, around, type Day, dayAt, days } from './context.js';
import * as tasks from './tasks.js';

type Access =
  | { readonly kind: 'iam-console'; readonly user: IamUser; readonly mfaDevice: string }
  | { readonly kind: 'iam-cli'; readonly user: IamUser }
  | { readonly kind: 'sso-console'; readonly role: Role }
  | { readonly kind: 'sso-cli'; readonly role: Role };

interface Workspace {
  readonly account: string;
  readonly access: Access;
  /** How often this person works here rather than in their other workspaces. */
  readonly weight: number;
  readonly tasks: ReadonlyArray<readonly [tasks.Task, number]>;
}

export interface Person {
  readonly handle: string;
  /** The IAM Identity Center user name, which becomes the SSO role session name. */
  readonly email: string;
  readonly homeIp: string;
  readonly browser: string;
  readonly cli: (call: ApiCall) => string;
  /** Chance of working on a given weekday. */
  readonly presence: number;
  readonly workspaces: readonly Workspace[];
  /** Rotates their own access key on the first day they work from this fraction of the window on. */
  readonly rotatesKeyFrom?: number;
  /** Mistypes the console password once, on the first console sign-in from this fraction of the window on. */
  readonly mistypesPasswordFrom?: number;
}

export const PEOPLE = {
  alice: {
    handle: 'alice',
    email: 'alice@example.com',
    homeIp: '192.0.2.10',
    browser: agents.CHROME_MAC,
    cli: agents.CLI_MAC,
    presence: 0.95,
    mistypesPasswordFrom: 0.34,
    workspaces: [
      {
        account: PROD,
        access: {
          kind: 'iam-console',
          user: USERS.alice,
          mfaDevice: `arn:aws:iam::${PROD}:mfa/alice-yubikey`,
        },
        weight: 4,
        tasks: [
          [tasks.reviewIam, 3],
          [tasks.checkStacks, 3],
          [tasks.inspectCompute, 2],
          [tasks.checkStorage, 2],
          [tasks.checkFunctions, 1],
          [tasks.checkCosts, 1],
          [tasks.readOwnTeamSecret, 0.3],
        ],
      },
      {
        account: PROD,
        access: { kind: 'iam-cli', user: USERS.alice },
        weight: 1,
        tasks: [
          [tasks.inspectCompute, 2],
          [tasks.checkStacks, 1],
        ],
      },
    ],
  },
  bob: {
    handle: 'bob',
    email: 'bob@example.com',
    homeIp: '192.0.2.23',
    browser: agents.FIREFOX_WINDOWS,
    cli: agents.CLI_LINUX_LAPTOP,
    presence: 0.9,
    rotatesKeyFrom: 0.5,
    workspaces: [
      {
        account: DEV,
        access: { kind: 'iam-cli', user: USERS.bob },
        weight: 1,
        tasks: [
          [tasks.iterateOnDevFunction, 4],
          [tasks.checkFunctions, 2],
          [tasks.checkData, 2],
          [tasks.inspectCompute, 1],
          [tasks.peekAtIam, 0.7],
        ],
      },
    ],
  },
  priya: {
    handle: 'priya',
    email: 'priya@example.com',
    homeIp: '192.0.2.35',
    browser: agents.SAFARI_MAC,
    cli: agents.CLI_MAC,
    presence: 0.9,
    workspaces: [
      {
        account: PROD,
        access: { kind: 'sso-console', role: SSO_ROLES.prodAdmin },
        weight: 1,
        tasks: [
          [tasks.securityReview, 4],
          [tasks.reviewIam, 2],
          [tasks.checkStorage, 2],
          [tasks.inspectCompute, 1],
        ],
      },
    ],
  },
  marco: {
    handle: 'marco',
    email: 'marco@example.com',
    homeIp: '192.0.2.44',
    browser: agents.EDGE_WINDOWS,
    cli: agents.CLI_LINUX_LAPTOP,
    presence: 0.85,
    workspaces: [
      {
        account: DEV,
        access: { kind: 'sso-console', role: SSO_ROLES.devDeveloper },
        weight: 2,
        tasks: [
          [tasks.checkFunctions, 3],
          [tasks.checkData, 2],
          [tasks.checkStacks, 2],
        ],
      },
      {
        account: DEV,
        access: { kind: 'sso-cli', role: SSO_ROLES.devDeveloper },
        weight: 1,
        tasks: [
          [tasks.checkFunctions, 1],
          [tasks.inspectCompute, 1],
        ],
      },
      {
        account: PROD,
        access: { kind: 'sso-console', role: SSO_ROLES.prodReadOnly },
        weight: 1,
        tasks: [
          [tasks.bumpIntoReadOnlyLimits, 2],
          [tasks.inspectCompute, 1],
          [tasks.checkFunctions, 1],
        ],
      },
    ],
  },
  chen: {
    handle: 'chen',
    email: 'chen@example.com',
    homeIp: '192.0.2.61',
    browser: agents.CHROME_MAC,
    cli: agents.CLI_MAC,
    presence: 0.85,
    workspaces: [
      {
        account: DEV,
        access: { kind: 'sso-console', role: SSO_ROLES.devMlEngineer },
        weight: 1,
        tasks: [
          [tasks.exploreDatasets, 3],
          [tasks.inspectCompute, 2],
        ],
      },
    ],
  },
} as const satisfies Record<string, Person>;

const CONSOLE_GAP = [0, 3] as const;
const CLI_GAP = [2, 25] as const;

/**
 * Signs `person` into the console through IAM Identity Center: the SAML
 * exchange is logged in the member account, then the session works as the
 * permission-set role with the person's user name as session name.
 */
export function signInWithSso(scene: Scene, person: Person, role: Role, ip: string): Caller {
  const account = role.account;
  scene.as({
    identity: samlUserIdentity(SSO_SAML.nameQualifier, person.email, SSO_SAML.provider(account)),
    account,
    sourceIPAddress: ip,
    userAgent: person.browser,
    tls: TLS13,
  });
  const session = startSession(scene.rng, role, person.email, scene.now);
  scene.call(assumeRoleWithSaml(scene.rng, session, person.email), { gap: [0, 1] });
  return {
    identity: assumedRoleIdentity(session),
    account,
    sourceIPAddress: ip,
    userAgent: person.browser,
    tls: TLS13,
    fromConsole: true,
  };
}

/** An IAM user's console sign-in with MFA, optionally after mistyping the password once. */
export function signInAsIamUser(
  scene: Scene,
  person: Person,
  user: IamUser,
  mfaDevice: string,
  ip: string,
  typoFirst = false,
): Caller {
  scene.as({
    identity: iamUserIdentity(user, { accessKeyId: null }),
    account: user.account,
    sourceIPAddress: ip,
    userAgent: person.browser,
    tls: TLS13,
  });
  if (typoFirst) {
    scene.call(consoleLogin({ success: false, mfaUsed: false }), { gap: [0, 1] });
    scene.pause(10, 40);
  }
  scene.call(consoleLogin({ mfaUsed: true, mfaDevice }), { gap: [0, 1] });
  return {
    identity: iamUserIdentity(user, {
      accessKeyId: temporaryKeyId(scene.rng),
      console: { created: scene.now, mfa: true },
    }),
    account: user.account,
    sourceIPAddress: ip,
    userAgent: person.browser,
    tls: TLS13,
    fromConsole: true,
  };
}

/** Per-person facts that change during the window. */
interface PersonState {
  /** The long-term key the person's CLI uses now (it changes when they rotate it). */
  accessKeyId: string | undefined;
  keyRotated: boolean;
  mistyped: boolean;
}

function openSession(
  scene: Scene,
  person: Person,
  workspace: Workspace,
  ip: string,
  state: PersonState,
  typo: boolean,
): Caller {
  const { access } = workspace;
  switch (access.kind) {
    case 'iam-console':
      return signInAsIamUser(scene, person, access.user, access.mfaDevice, ip, typo);
    case 'iam-cli':
      return {
        identity: iamUserIdentity(access.user, { accessKeyId: state.accessKeyId ?? access.user.accessKeyId }),
        account: workspace.account,
        sourceIPAddress: ip,
        userAgent: person.cli,
        tls: TLS13,
      };
    case 'sso-console':
      return signInWithSso(scene, person, access.role, ip);
    case 'sso-cli': {
      // `aws sso login` fetches role credentials from the portal; that is logged in the
      // Identity Center account, not here, so the session just starts being used.
      const created = scene.now - scene.rng.int(5, 180) * MINUTE;
      const session = startSession(scene.rng, access.role, person.email, created);
      return {
        identity: assumedRoleIdentity(session),
        account: workspace.account,
        sourceIPAddress: ip,
        userAgent: person.cli,
        tls: TLS13,
      };
    }
  }
}

/**
 * Routine key hygiene: a user creates a second key for themselves, switches to
 * it, then disables and deletes the old one. Looks like "access key created",
 * but for oneself, from one's usual address and client.
 */
function rotateOwnKey(scene: Scene, user: IamUser, state: PersonState): void {
  const oldKey = state.accessKeyId ?? user.accessKeyId;
  const newKey = longTermKeyId(scene.rng);
  scene.call(iam.listAccessKeys(user.name));
  scene.call(iam.createAccessKey(user.name, newKey, scene.now));
  scene.as({ ...scene.caller, identity: iamUserIdentity(user, { accessKeyId: newKey }) });
  scene.pause(40, 180);
  scene.call(getCallerIdentity());
  scene.call(iam.updateAccessKey(user.name, oldKey, 'Inactive'), { gap: [20, 90] });
  scene.call(iam.listAccessKeys(user.name), { gap: [5, 30] });
  scene.call(iam.deleteAccessKey(user.name, oldKey), { gap: [60, 300] });
  state.accessKeyId = newKey;
  state.keyRotated = true;
}

/** True from the day a planned one-off falls due until it has happened. */
const due = (context: ActivityContext, day: Day, fraction: number | undefined, done: boolean): boolean =>
  fraction !== undefined && !done && day.index >= dayAt(context, fraction).index;

function workDay(context: ActivityContext, person: Person, day: Day, state: PersonState, rng: Random): void {
  // A planned chore brings the person in even on a day they would have skipped.
  const rotationDue = due(context, day, person.rotatesKeyFrom, state.keyRotated);
  if (!rng.chance(day.weekend ? 0.08 : person.presence) && !rotationDue) return;
  const ip = rng.chance(0.2) ? person.homeIp : COMPANY_IPS.office;
  const sessions = day.weekend ? 1 : rng.int(1, 2);
  for (let s = 0; s < sessions; s++) {
    const startsAt = s === 0 ? around(rng, day, 13.5, 45) : around(rng, day, 18.5, 45);
    let workspace = rng.weighted(person.workspaces.map((w) => [w, w.weight] as const));
    const signInDue = due(context, day, person.mistypesPasswordFrom, state.mistyped);
    const wanted = rotationDue && !state.keyRotated ? 'iam-cli' : signInDue ? 'iam-console' : undefined;
    workspace = person.workspaces.find((w) => w.access.kind === wanted) ?? workspace;
    const scene = new Scene(rng, context.log, undefined, startsAt);
    scene.gap = workspace.access.kind.endsWith('console') ? CONSOLE_GAP : CLI_GAP;
    const typo = signInDue && workspace.access.kind === 'iam-console';
    scene.as(openSession(scene, person, workspace, ip, state, typo));
    state.mistyped ||= typo;
    if (workspace.access.kind === 'iam-cli' && rotationDue && !state.keyRotated) {
      rotateOwnKey(scene, workspace.access.user, state);
    }
    const taskCount = rng.int(2, 5);
    for (let t = 0; t < taskCount && scene.now < day.midnight + 23 * HOUR; t++) {
      rng.weighted(workspace.tasks)(scene, { account: workspace.account });
      scene.pause(120, 1500);
    }
  }
}

export function simulatePeople(context: ActivityContext): void {
  for (const person of Object.values(PEOPLE) as Person[]) {
    const state: PersonState = { accessKeyId: undefined, keyRotated: false, mistyped: false };
    for (const day of days(context)) {
      workDay(context, person, day, state, context.rng.fork(`${person.handle}/${day.index}`));
    }
  }
}
