/**
 * The throttling proxy in front of dynalite, driven by the real DynamoDB
 * client: requests pass through unchanged, and the throttled ones are answered
 * as DynamoDB answers them, so the SDK retries them and, past its attempts,
 * surfaces the modelled exception.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynalite } from '../../../adapters/dynamodb/local-dynalite.js';
import {
  fastRetryStrategy,
  startThrottlingProxy,
  type ThrottlingProxy,
} from '../../helpers/throttling-proxy.js';

const TABLE = 'profiles';

let dynamo: LocalDynamo;
let proxy: ThrottlingProxy;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startLocalDynalite();
  await dynamo.client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  proxy = await startThrottlingProxy(dynamo.endpoint);
  client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 5,
    retryStrategy: fastRetryStrategy(5),
  });
});
afterAll(async () => {
  client.destroy();
  await proxy.close();
  await dynamo.close();
});
beforeEach(() => {
  proxy.calls.length = 0;
});

const put = (pk: string) => new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk }, n: { N: '1' } } });
const stored = async (pk: string) =>
  (await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } } }))).Item;

describe('throttling proxy', () => {
  it('forwards requests unchanged to dynalite', async () => {
    const result = await client.send(put('plain'));
    expect(result.$metadata.httpStatusCode).toBe(200);
    expect(await stored('plain')).toEqual({ pk: { S: 'plain' }, n: { N: '1' } });
    expect(proxy.calls).toEqual([
      { target: 'DynamoDB_20120810.PutItem', operation: 'PutItem', throttled: false },
    ]);
  });

  it('throttles the next requests of one operation, which the SDK retries', async () => {
    proxy.throttleNext(2, 'PutItem');
    const read = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'plain' } } }));
    expect(read.Item?.pk).toEqual({ S: 'plain' });
    const result = await client.send(put('retried'));
    expect(result.$metadata.attempts).toBe(3);
    expect(await stored('retried')).toBeDefined();
    expect(proxy.calls.map((c) => [c.operation, c.throttled])).toEqual([
      ['GetItem', false],
      ['PutItem', true],
      ['PutItem', true],
      ['PutItem', false],
    ]);
  });

  it('surfaces ProvisionedThroughputExceededException once the attempts are spent', async () => {
    proxy.throttleAll(true);
    const error = await client.send(put('never')).catch((e: unknown) => e);
    proxy.throttleAll(false);
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error).toMatchObject({
      message: expect.stringContaining(
        'The level of configured provisioned throughput for the table was exceeded',
      ),
      $metadata: { httpStatusCode: 400, attempts: 5 },
    });
    expect(proxy.calls.filter((c) => c.throttled)).toHaveLength(5);
    expect(await stored('never')).toBeUndefined();
  });

  it('can answer ThrottlingException instead', async () => {
    proxy.throttleNext(1, undefined, 'ThrottlingException');
    const described = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(described.Table?.TableName).toBe(TABLE);
    expect(described.$metadata.attempts).toBe(2);

    proxy.throttleAll(true, 'ThrottlingException');
    const error = await client.send(new DescribeTableCommand({ TableName: TABLE })).catch((e: unknown) => e);
    proxy.throttleAll(false);
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 5 } });
  });
});
