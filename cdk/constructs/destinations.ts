import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IEventBus, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, ResourcePolicy, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { SEVERITY_ORDER, type Severity } from '../../detectors/schema/finding.js';
import { FINDING_EVENT_PATTERN } from './findings-bus.js';

export interface DestinationsProps {
  readonly prefix: string;
  readonly findingsBus: IEventBus;
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  /** Findings of severity high and critical are emailed here when given. */
  readonly notifyEmail?: string;
}

/** The severities at or above `lowest`, in the finding contract's order. */
export function severitiesFrom(lowest: Severity): Severity[] {
  return (Object.keys(SEVERITY_ORDER) as Severity[]).filter(
    (s) => SEVERITY_ORDER[s] >= SEVERITY_ORDER[lowest],
  );
}

/**
 * Where findings go from the findings bus. Each destination is one rule,
 * made by {@link Destinations.route}: a rule target and the lowest severity
 * it wants.
 *
 * - every finding to a CloudWatch Logs log group (KMS, the configured
 *   retention), for Logs Insights queries;
 * - with an email address, high and critical findings to an SNS topic (KMS)
 *   with that address subscribed;
 * - every finding to the alerting queue (a route added by `Alerting`), where
 *   Slack, PagerDuty and Security Hub are served: incidents, suppressions,
 *   per-destination severities and rate limits are `alerting.yml`'s business
 *   there, not this construct's. A new kind of destination belongs in
 *   `alerting.yml` and the alerter; a route here suits only a plain
 *   EventBridge target that wants raw findings (another account's bus, a
 *   queue of a SIEM).
 */
export class Destinations extends Construct {
  readonly findingsLog: LogGroup;
  private readonly findingsBus: IEventBus;

  constructor(scope: Construct, id: string, props: DestinationsProps) {
    super(scope, id);
    this.findingsBus = props.findingsBus;

    this.findingsLog = new LogGroup(this, 'FindingsLog', {
      // EventBridge delivers only to log groups under /aws/events/.
      logGroupName: `/aws/events/${props.prefix}/findings`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      // A query copy: the archive holds every finding, and a retained group of this fixed name would block a redeploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The resource policy EventBridge needs to write there, declared natively
    // (the CDK's log group target would add a custom resource Lambda for it).
    new ResourcePolicy(this, 'FindingsLogPolicy', {
      policyStatements: [
        new PolicyStatement({
          principals: [new ServicePrincipal('events.amazonaws.com')],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.findingsLog.logGroupArn],
        }),
      ],
    });
    // A rule targets a log group by its ARN without the `:*` that CloudFormation's Arn attribute ends with.
    const toLog: IRuleTarget = {
      bind: () => ({
        arn: Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.findingsLog.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      }),
    };
    this.route('AllFindingsToLog', toLog, 'info');

    if (props.notifyEmail !== undefined) {
      const topic = new Topic(this, 'UrgentFindings', {
        displayName: 'Trailhound findings (high and critical)',
        masterKey: props.encryptionKey,
        enforceSSL: true,
      });
      topic.addSubscription(new EmailSubscription(props.notifyEmail));
      this.route('UrgentFindingsToEmail', new SnsTopic(topic), 'high');
    }
  }

  /** Sends every finding of severity `lowest` or above to `target`, with a rule of its own. */
  route(id: string, target: IRuleTarget, lowest: Severity): Rule {
    const severities = severitiesFrom(lowest);
    return new Rule(this, id, {
      eventBus: this.findingsBus,
      description: `Trailhound findings of severity ${severities.join(', ')}`,
      eventPattern: {
        ...FINDING_EVENT_PATTERN,
        ...(lowest === 'info' ? {} : { detail: { severity: severities } }),
      },
      targets: [target],
    });
  }
}
