import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AzureConfig } from '../config.js';
import { acknowledgeWildcardResource } from '../nag.js';
import { PULL_PERIOD, ScheduledPull } from './scheduled-pull.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface AzureActivityIngestProps {
  readonly azure: AzureConfig;
  readonly detection: DetectionResources;
}

/**
 * Azure Activity and Entra ID logs pulled from a Log Analytics workspace every
 * five minutes by `functions/azure-log-analytics-pull.ts`, each table from its
 * checkpoint. There is no stored Azure secret: the app registration trusts
 * the function role's STS web identity tokens (outbound identity federation,
 * which must be turned on in the account), and the settings secret holds only
 * tenant and client ids.
 */
export class AzureActivityIngest extends Construct implements MonitoredIngest {
  readonly sources = ['azure-pull'] as const;
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[] = [];
  readonly deadLetterQueues: readonly IQueue[];

  constructor(scope: Construct, id: string, props: AzureActivityIngestProps) {
    super(scope, id);
    const { azure } = props;
    const handler = new TrailhoundFunction(this, 'Pull', {
      handlerModule: 'azure-log-analytics-pull',
      description: 'Trailhound: Azure Activity and Entra ID logs pulled from Log Analytics',
      detection: props.detection,
      memorySize: 1024,
      // Below the schedule's period, so one run ends before the next begins.
      timeout: PULL_PERIOD.minus(Duration.minutes(1)),
      reservedConcurrentExecutions: 1,
      environment: {
        AZURE_WORKSPACE_ID: azure.workspaceId,
        ...(azure.tables !== undefined ? { AZURE_TABLES: azure.tables.join(',') } : {}),
      },
    });
    handler.readSecret('AZURE_SETTINGS_SECRET_ARN', azure.settingsSecretArn);
    handler.allow(['sts:GetWebIdentityToken'], ['*'], {
      'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': azure.assertionAudience },
    });
    acknowledgeWildcardResource(
      handler.role,
      '*',
      'sts:GetWebIdentityToken has no resource-level permissions, so AWS requires "*"; the condition limits the tokens the function can request to the Entra ID exchange audience.',
    );
    const schedule = new ScheduledPull(this, 'Schedule', {
      handler,
      encryptionKey: props.detection.encryptionKey,
      description: `Azure log pull of workspace ${azure.workspaceId}`,
    });
    this.functions = [handler.function];
    this.deadLetterQueues = [schedule.deadLetterQueue];
  }
}
