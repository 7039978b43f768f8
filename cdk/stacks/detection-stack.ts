import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { TrailhoundConfig } from '../config.js';
import { Alerting, UNDELIVERED_MAX_AGE } from '../constructs/alerting.js';
import { RUNTIME_COLLECTOR_WRAPPER } from '../constructs/attach-runtime-collector.js';
import { AzureActivityIngest } from '../constructs/azure-activity-ingest.js';
import { CloudTrailEventBridgeIngest } from '../constructs/cloudtrail-eventbridge-ingest.js';
import { CloudTrailS3Ingest } from '../constructs/cloudtrail-s3-ingest.js';
import { TrailhoundDataLayer } from '../constructs/data-layer.js';
import { Destinations } from '../constructs/destinations.js';
import { FindingsBus } from '../constructs/findings-bus.js';
import { GcpAuditIngest } from '../constructs/gcp-audit-ingest.js';
import { quarantineBucketName } from '../constructs/quarantine-bucket.js';
import { RuntimeCollectorLayer } from '../constructs/runtime-collector-layer.js';
import { RUNTIME_INGEST_OUTPUTS, RuntimeIngest } from '../constructs/runtime-ingest.js';
import { type MonitoredIngest, SourceHealthAlarms } from '../constructs/source-health-alarms.js';
import type { DetectionResources } from '../constructs/trailhound-function.js';

/** How to use a published runtime collector layer: the description of its output. */
const ATTACH_RUNTIME_COLLECTOR = (architecture: string) =>
  `Runtime collector layer for ${architecture} Node.js functions: add it to the function and set ` +
  `AWS_LAMBDA_EXEC_WRAPPER=${RUNTIME_COLLECTOR_WRAPPER}; optionally TRAILHOUND_MODE=enforce (with TRAILHOUND_POLICY) ` +
  'and TRAILHOUND_ROLE_ARN=<execution role ARN> (lambda-layer/README.md, attachRuntimeCollector in CDK)';

export interface DetectionStackProps extends StackProps {
  readonly config: TrailhoundConfig;
  /** The storage stack's key, by ARN: see `TrailhoundKey` for why it is imported rather than shared. */
  readonly encryptionKeyArn: string;
  readonly profileTable: ITable;
  readonly idempotencyTable: ITable;
}

/**
 * Everything that detects and can be replaced at will: the ingest functions
 * and their queues and schedules, the findings bus and its destinations,
 * alerting, the alarms. Redeploying or even destroying this stack loses no state (the
 * findings archive excepted, which is retained: see `FindingsBus`).
 */
export class DetectionStack extends Stack {
  constructor(scope: Construct, id: string, props: DetectionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const encryptionKey = Key.fromKeyArn(this, 'EncryptionKey', props.encryptionKeyArn);
    // By its fixed name: see `quarantineBucketName` for why not by reference.
    const quarantineBucket = Bucket.fromBucketName(
      this,
      'QuarantineBucket',
      quarantineBucketName(this, config.prefix),
    );

    const findings = new FindingsBus(this, 'Findings', {
      prefix: config.prefix,
      encryptionKey,
      archiveRetention: Duration.days(config.findingsArchiveDays),
    });
    const destinations = new Destinations(this, 'Destinations', {
      prefix: config.prefix,
      findingsBus: findings.bus,
      encryptionKey,
      logRetention: config.logRetentionDays,
      notifyEmail: config.findingsEmail ?? config.alarmEmail,
    });

    const detection: DetectionResources = {
      dataLayer: new TrailhoundDataLayer(this, 'DataLayer').layer,
      profileTable: props.profileTable,
      findingsBus: findings.bus,
      encryptionKey,
      logRetention: config.logRetentionDays,
    };
    const ingests: MonitoredIngest[] = [];

    const events = new CloudTrailEventBridgeIngest(this, 'CloudTrailEventBridgeIngest', {
      detection,
      quarantineBucket,
      prefix: config.prefix,
      organizationId: config.organizationId,
    });
    ingests.push(events);
    if (events.ingestBus !== undefined)
      new CfnOutput(this, 'CloudTrailIngestBusArn', {
        description:
          'Member accounts forward CloudTrail events here (an EventBridge rule targeting this bus)',
        value: events.ingestBus.eventBusArn,
      });

    if (config.trailBuckets.length > 0) {
      const files = new CloudTrailS3Ingest(this, 'CloudTrailS3Ingest', {
        detection,
        idempotencyTable: props.idempotencyTable,
        quarantineBucket,
        trailBuckets: config.trailBuckets,
      });
      ingests.push(files);
      new CfnOutput(this, 'CloudTrailS3QueueArn', {
        description: 'Trail bucket owners send s3:ObjectCreated:* notifications (suffix .json.gz) here',
        value: files.queue.queueArn,
      });
      new CfnOutput(this, 'CloudTrailS3ReaderRoleArn', {
        description: "Trail bucket owners (and the trail's KMS key) allow this role to read the log files",
        value: files.handler.role.roleArn,
      });
    }

    if (config.gcp !== undefined) {
      const gcp = new GcpAuditIngest(this, 'GcpAuditIngest', { gcp: config.gcp, detection });
      ingests.push(gcp);
      if (gcp.pushUrl !== undefined)
        new CfnOutput(this, 'GcpPushUrl', {
          description: 'The push endpoint of the Pub/Sub subscription',
          value: gcp.pushUrl,
        });
    }

    if (config.azure !== undefined)
      ingests.push(new AzureActivityIngest(this, 'AzureActivityIngest', { azure: config.azure, detection }));

    if (config.runtimeCollector.enabled) {
      const runtime = new RuntimeIngest(this, 'RuntimeIngest', {
        detection,
        quarantineBucket,
        prefix: config.prefix,
        organizationId: config.organizationId,
      });
      ingests.push(runtime);
      new CfnOutput(this, 'RuntimeRecordsQueueUrl', {
        description: RUNTIME_INGEST_OUTPUTS.queueUrl,
        value: runtime.queue.queueUrl,
      });
      new CfnOutput(this, 'RuntimeIngestFunctionArn', {
        description: RUNTIME_INGEST_OUTPUTS.functionArn,
        value: runtime.handler.function.functionArn,
      });
    }

    const alerting = new Alerting(this, 'Alerting', {
      alerting: config.alertingDir,
      detection,
      destinations,
    });
    new CfnOutput(this, 'AlertingUndeliveredQueueUrl', {
      description:
        'SQS queue of incident updates a destination could not take; the housekeeping function re-drives it every 5 minutes',
      value: alerting.undeliveredQueue.queueUrl,
    });

    const alarms = new SourceHealthAlarms(this, 'SourceHealth', {
      encryptionKey,
      alarmEmail: config.alarmEmail,
      deadManMinutes: config.deadManMinutes,
    });
    for (const ingest of ingests) alarms.watch(ingest);
    alarms.watch(alerting);
    alarms.watchMessageAge(
      alerting.undeliveredQueue,
      UNDELIVERED_MAX_AGE,
      'a destination has refused updates for that long (see the housekeeping logs for which and why)',
    );

    new CfnOutput(this, 'FindingsBusName', {
      description: 'Subscribe destinations to findings with rules on this bus',
      value: findings.bus.eventBusName,
    });

    if (config.runtimeCollector.enabled) {
      const collector = new RuntimeCollectorLayer(this, 'RuntimeCollector', {
        prefix: config.prefix,
        architectures: config.runtimeCollector.architectures,
        organizationId: config.organizationId,
      });
      for (const [architecture, layer] of collector.layers)
        new CfnOutput(
          this,
          architecture === 'arm64' ? 'RuntimeCollectorLayerArnArm64' : 'RuntimeCollectorLayerArnX8664',
          {
            description: ATTACH_RUNTIME_COLLECTOR(architecture),
            value: layer.layerVersionArn,
          },
        );
    }
  }
}
