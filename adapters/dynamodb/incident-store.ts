/**
 * Incidents, suppressed findings and notification rate limits in the
 * profile table (single-table design; see README.md beside this file). The
 * same store serves the alert dispatcher in Lambda and `trailhound scan
 * --notify` on dynalite.
 *
 * Items:
 * - incident: `pk = INCIDENT#<group>`, `sk = <opened_at, 13 digits>#<key>`,
 *   so a group's newest incident is the last of its partition. The incident is
 *   JSON in `incident`, beside `revision` (the optimistic-concurrency token),
 *   and `refs`, a map the destinations write into (a Slack thread's ts, the
 *   last revision each destination handled) without moving the revision.
 * - key index: `pk = INCIDENTKEY#<key>`, `sk = v1` → where the incident is,
 *   written before the incident itself, so a key always leads to its item.
 * - unresolved set: `pk = INCIDENTS#UNRESOLVED`, `sk = <key>`, one item per
 *   incident not yet resolved, for auto-resolution and listings.
 * - suppressed finding: `pk = SUPPRESSED#<suppression id>`, `sk = <finding uid>`.
 * - rate-limit counter: `pk = RATE#<bucket>`, `sk = <window start>`.
 * Everything carries a TTL (`expiresAt`): incidents a year after their last
 * finding, suppressed findings 90 days, counters two windows.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { groupId, Incident } from '../../detectors/alerting/incident.js';
import type { IncidentStore, RateLimiter } from '../../detectors/alerting/ports.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { ProfileStoreError } from './errors.js';
import { PROFILE_ITEM_SK } from './profile-store.js';

const INCIDENT_PREFIX = 'INCIDENT#';
const KEY_INDEX_PREFIX = 'INCIDENTKEY#';
const UNRESOLVED_PK = 'INCIDENTS#UNRESOLVED';
const SUPPRESSED_PREFIX = 'SUPPRESSED#';
const RATE_PREFIX = 'RATE#';

const DAY_MS = 86_400_000;
const INCIDENT_RETENTION_MS = 365 * DAY_MS;
const SUPPRESSED_RETENTION_MS = 90 * DAY_MS;

export interface DynamoIncidentStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const ttl = (ms: number): AttributeValue => n(Math.ceil(ms / 1000));

function sortKeyOf(incident: Incident): string {
  return `${String(Math.max(0, incident.opened_at)).padStart(13, '0')}#${incident.key}`;
}

export class DynamoIncidentStore implements IncidentStore, RateLimiter {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: DynamoIncidentStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
  }

  async latest(groupId: string): Promise<Incident | undefined> {
    const { Items } = await this.call('Query', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': s(INCIDENT_PREFIX + groupId) },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const item = Items?.[0];
    return item !== undefined ? this.parse(item) : undefined;
  }

  async get(key: string): Promise<Incident | undefined> {
    const where = await this.locate(key);
    if (where === undefined) return undefined;
    const { Item } = await this.call('GetItem', () =>
      this.client.send(new GetItemCommand({ TableName: this.table, Key: where, ConsistentRead: true })),
    );
    return Item !== undefined ? this.parse(Item) : undefined;
  }

  async put(incident: Incident, expectedRevision: number): Promise<boolean> {
    const key = { pk: s(INCIDENT_PREFIX + groupIdOf(incident)), sk: s(sortKeyOf(incident)) };
    if (expectedRevision === 0) await this.index(incident, key);
    const { refs: _refs, ...body } = incident;
    try {
      await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression:
              'SET incident = :incident, revision = :revision, incidentKey = :key, #state = :state, ' +
              'lastFindingAt = :last, updatedAt = :updated, expiresAt = :ttl, refs = if_not_exists(refs, :noRefs)',
            ConditionExpression: expectedRevision === 0 ? 'attribute_not_exists(pk)' : 'revision = :expected',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':incident': s(JSON.stringify(body)),
              ':revision': n(incident.revision),
              ':key': s(incident.key),
              ':state': s(incident.state),
              ':last': n(incident.last_finding_at),
              ':updated': n(incident.updated_at),
              ':ttl': ttl(Math.max(incident.last_finding_at, incident.updated_at) + INCIDENT_RETENTION_MS),
              ':noRefs': { M: {} },
              ...(expectedRevision === 0 ? {} : { ':expected': n(expectedRevision) }),
            },
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ProfileStoreError && error.cause instanceof ConditionalCheckFailedException)
        return false;
      throw error;
    }
    await this.trackResolution(incident, key);
    return true;
  }

  async addRefs(incident: Incident, refs: Readonly<Record<string, string>>): Promise<void> {
    const entries = Object.entries(refs);
    if (entries.length === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const sets = entries.map(([name, value], i) => {
      names[`#r${i}`] = name;
      values[`:r${i}`] = s(value);
      return `refs.#r${i} = :r${i}`;
    });
    await this.call('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(INCIDENT_PREFIX + groupIdOf(incident)), sk: s(sortKeyOf(incident)) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async listUnresolved(): Promise<Incident[]> {
    const out: Incident[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(UNRESOLVED_PK) },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const incident = await this.get(item.sk?.S ?? '');
        if (incident !== undefined && incident.state !== 'resolved') out.push(incident);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async recordSuppressed(finding: Finding, suppressionId: string, now: number): Promise<void> {
    await this.call('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: s(SUPPRESSED_PREFIX + suppressionId),
            sk: s(finding.finding_uid),
            finding: s(JSON.stringify(finding)),
            ruleUid: s(finding.rule.uid),
            updatedAt: n(now),
            expiresAt: ttl(now + SUPPRESSED_RETENTION_MS),
          },
        }),
      ),
    );
  }

  /** The suppressed findings of one suppression (an audit of what it hides). */
  async suppressedBy(suppressionId: string): Promise<Finding[]> {
    const { Items } = await this.call('Query', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': s(SUPPRESSED_PREFIX + suppressionId) },
        }),
      ),
    );
    return (Items ?? []).map((item) => JSON.parse(item.finding?.S ?? '{}') as Finding);
  }

  async take(bucket: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    const windowStart = Math.floor(now / windowMs) * windowMs;
    try {
      await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: s(RATE_PREFIX + bucket), sk: s(String(windowStart)) },
            UpdateExpression: 'ADD sent :one SET expiresAt = :ttl',
            ConditionExpression: 'attribute_not_exists(sent) OR sent < :limit',
            ExpressionAttributeValues: {
              ':one': n(1),
              ':limit': n(limit),
              ':ttl': ttl(windowStart + 2 * windowMs),
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ProfileStoreError && error.cause instanceof ConditionalCheckFailedException)
        return false;
      throw error;
    }
  }

  private async locate(key: string): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: s(KEY_INDEX_PREFIX + key), sk: s(PROFILE_ITEM_SK) },
          ConsistentRead: true,
        }),
      ),
    );
    if (Item?.groupPk?.S === undefined || Item.groupSk?.S === undefined) return undefined;
    return { pk: Item.groupPk, sk: Item.groupSk };
  }

  private async index(incident: Incident, where: Record<string, AttributeValue>): Promise<void> {
    await this.call('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: s(KEY_INDEX_PREFIX + incident.key),
            sk: s(PROFILE_ITEM_SK),
            groupPk: where.pk as AttributeValue,
            groupSk: where.sk as AttributeValue,
            expiresAt: ttl(incident.last_finding_at + INCIDENT_RETENTION_MS),
          },
        }),
      ),
    );
  }

  private async trackResolution(incident: Incident, where: Record<string, AttributeValue>): Promise<void> {
    const key = { pk: s(UNRESOLVED_PK), sk: s(incident.key) };
    if (incident.state === 'resolved') {
      await this.call('DeleteItem', () =>
        this.client.send(new DeleteItemCommand({ TableName: this.table, Key: key })),
      );
      return;
    }
    await this.call('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { ...key, groupPk: where.pk as AttributeValue, groupSk: where.sk as AttributeValue },
        }),
      ),
    );
  }

  private parse(item: Record<string, AttributeValue>): Incident {
    const refs: Record<string, string> = {};
    for (const [name, value] of Object.entries(item.refs?.M ?? {}))
      if (value.S !== undefined) refs[name] = value.S;
    const parsed = Incident.safeParse({ ...JSON.parse(item.incident?.S ?? 'null'), refs });
    if (!parsed.success)
      throw new ProfileStoreError(`item ${item.pk?.S} ${item.sk?.S} is not an incident this code can read`, {
        table: this.table,
        operation: 'parse',
      });
    return parsed.data;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new ProfileStoreError(
        `${operation} on ${this.table} failed: ${(error as Error).message}`,
        { table: this.table, operation },
        { cause: error },
      );
    }
  }
}

function groupIdOf(incident: Incident): string {
  return groupId(incident.group);
}
