/**
 * The remaining services the estate uses: CloudFormation, CloudTrail,
 * DynamoDB, Systems Manager, CloudWatch Logs, Organizations and the
 * read-mostly consoles (Cost Explorer, CloudWatch, GuardDuty, Security Hub).
 */
import { Random } from '../random.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall, resource } from './call.js';

// CloudFormation -------------------------------------------------------------

/** A stack's id is fixed for its life; derive it from the stack's name so every deploy agrees. */
export function stackArn(region: string, account: string, stackName: string): string {
  return `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/${Random.from(`stack:${account}:${stackName}`).uuid()}`;
}

export interface ChangeSet {
  readonly region: string;
  readonly account: string;
  readonly stackName: string;
  readonly changeSetName: string;
  readonly changeSetId: string;
}

export function createChangeSet(
  changeSet: ChangeSet,
  templateURL: string,
  executionRoleArn: string,
  parameters: JsonObject[],
): ApiCall {
  const { region, account, stackName, changeSetName } = changeSet;
  return apiCall(
    'cloudformation',
    'CreateChangeSet',
    region,
    {
      stackName,
      templateURL,
      parameters,
      capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      roleARN: executionRoleArn,
      changeSetName,
      changeSetType: 'UPDATE',
      description: 'CDK Changeset for execution 0f8e7d6c-5b4a-4938-8271-605f4e3d2c1b',
    },
    { response: { id: changeSet.changeSetId, stackId: stackArn(region, account, stackName) } },
  );
}

export const describeChangeSet = (changeSet: ChangeSet): ApiCall =>
  apiCall('cloudformation', 'DescribeChangeSet', changeSet.region, {
    changeSetName: changeSet.changeSetName,
    stackName: changeSet.stackName,
  });

export const executeChangeSet = (changeSet: ChangeSet): ApiCall =>
  apiCall('cloudformation', 'ExecuteChangeSet', changeSet.region, {
    changeSetName: changeSet.changeSetName,
    stackName: changeSet.stackName,
  });

export const describeStacks = (region: string, stackName?: string): ApiCall =>
  apiCall('cloudformation', 'DescribeStacks', region, stackName === undefined ? null : { stackName });
export const describeStackEvents = (region: string, stackName: string): ApiCall =>
  apiCall('cloudformation', 'DescribeStackEvents', region, { stackName });
export const listStacks = (region: string): ApiCall =>
  apiCall('cloudformation', 'ListStacks', region, {
    stackStatusFilter: ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'],
  });
export const getTemplate = (region: string, stackName: string): ApiCall =>
  apiCall('cloudformation', 'GetTemplate', region, { stackName, templateStage: 'Original' });

export function createStack(
  region: string,
  account: string,
  stackName: string,
  templateURL: string,
): ApiCall {
  return apiCall(
    'cloudformation',
    'CreateStack',
    region,
    { stackName, templateURL, capabilities: ['CAPABILITY_NAMED_IAM'], disableRollback: false },
    { response: { stackId: stackArn(region, account, stackName) } },
  );
}

export const deleteStack = (region: string, stackName: string): ApiCall =>
  apiCall('cloudformation', 'DeleteStack', region, { stackName });

// CloudTrail -----------------------------------------------------------------

export const describeTrails = (region: string): ApiCall =>
  apiCall('cloudtrail', 'DescribeTrails', region, { trailNameList: [], includeShadowTrails: true });
export const getTrailStatus = (region: string, trailArn: string): ApiCall =>
  apiCall('cloudtrail', 'GetTrailStatus', region, { name: trailArn });
export const getEventSelectors = (region: string, trailArn: string): ApiCall =>
  apiCall('cloudtrail', 'GetEventSelectors', region, { trailName: trailArn });
export const stopLogging = (region: string, trailArn: string): ApiCall =>
  apiCall('cloudtrail', 'StopLogging', region, { name: trailArn });

// DynamoDB -------------------------------------------------------------------

interface Table {
  readonly name: string;
  readonly account: string;
  readonly arn: string;
}

const tableResource = (table: Table) => resource('AWS::DynamoDB::Table', table.arn, table.account);

/** Item-level calls are data events; the key is logged, attribute values are not. */
function itemCall(operation: string, region: string, table: Table, request: JsonObject): ApiCall {
  return apiCall(
    'dynamodb',
    operation,
    region,
    { tableName: table.name, ...request },
    {
      resources: [tableResource(table)],
      data: true,
    },
  );
}

export const getItem = (region: string, table: Table, orderId: string): ApiCall =>
  itemCall('GetItem', region, table, { key: { orderId }, consistentRead: false });
export const putItem = (region: string, table: Table, orderId: string): ApiCall =>
  itemCall('PutItem', region, table, { key: { orderId } });
export const query = (region: string, table: Table, index: string): ApiCall =>
  itemCall('Query', region, table, {
    indexName: index,
    keyConditionExpression: 'customerId = :customerId',
    limit: 50,
  });
export const scan = (region: string, table: Table): ApiCall =>
  itemCall('Scan', region, table, { limit: 1000 });
export const describeTable = (region: string, table: Table): ApiCall =>
  apiCall(
    'dynamodb',
    'DescribeTable',
    region,
    { tableName: table.name },
    { resources: [tableResource(table)] },
  );
export const listTables = (region: string): ApiCall => apiCall('dynamodb', 'ListTables', region, null);

// Systems Manager and CloudWatch Logs ---------------------------------------

export interface ManagedInstance {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly zone: string;
}

/** The SSM agent's heartbeat, every five minutes from every managed instance. */
export function updateInstanceInformation(region: string, instance: ManagedInstance): ApiCall {
  return apiCall('ssm', 'UpdateInstanceInformation', region, {
    instanceId: instance.instanceId,
    agentVersion: '3.3.1142.0',
    agentStatus: 'Active',
    platformType: 'Linux',
    platformName: 'Amazon Linux',
    platformVersion: '2023',
    iPAddress: instance.privateIp,
    computerName: `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal`,
    agentName: 'amazon-ssm-agent',
    availabilityZone: instance.zone,
    availabilityZoneId: instance.zone.endsWith('a') ? 'use1-az2' : 'use1-az4',
  });
}

export const getParameter = (region: string, name: string): ApiCall =>
  apiCall('ssm', 'GetParameter', region, { name, withDecryption: true });
export const describeInstanceInformation = (region: string): ApiCall =>
  apiCall('ssm', 'DescribeInstanceInformation', region, { maxResults: 50 });

export const createLogStream = (region: string, logGroupName: string, logStreamName: string): ApiCall =>
  apiCall('logs', 'CreateLogStream', region, { logGroupName, logStreamName });
export const describeLogGroups = (region: string): ApiCall =>
  apiCall('logs', 'DescribeLogGroups', region, null);
export const describeLogStreams = (region: string, logGroupName: string): ApiCall =>
  apiCall('logs', 'DescribeLogStreams', region, { logGroupName, orderBy: 'LastEventTime', descending: true });

// Organizations and read-mostly consoles ------------------------------------

export const describeOrganization = (): ApiCall =>
  apiCall('organizations', 'DescribeOrganization', 'us-east-1', null);
export const listAccounts = (): ApiCall => apiCall('organizations', 'ListAccounts', 'us-east-1', null);

export function getCostAndUsage(from: string, to: string): ApiCall {
  return apiCall('ce', 'GetCostAndUsage', 'us-east-1', {
    timePeriod: { start: from, end: to },
    granularity: 'DAILY',
    metrics: ['UnblendedCost'],
    groupBy: [{ type: 'DIMENSION', key: 'SERVICE' }],
  });
}

export const describeAlarms = (region: string): ApiCall =>
  apiCall('monitoring', 'DescribeAlarms', region, { maxRecords: 100 });
export const listDetectors = (region: string): ApiCall => apiCall('guardduty', 'ListDetectors', region, null);
export const getFindings = (region: string): ApiCall =>
  apiCall('securityhub', 'GetFindings', region, {
    filters: { RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }] },
    maxResults: 100,
  });
export const describeAutoScalingGroups = (region: string): ApiCall =>
  apiCall('autoscaling', 'DescribeAutoScalingGroups', region, null);
export const describeConfigRules = (region: string): ApiCall =>
  apiCall('config', 'DescribeConfigRules', region, null);
