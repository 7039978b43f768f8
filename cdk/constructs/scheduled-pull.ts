import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.js';
import type { TrailhoundFunction } from './trailhound-function.js';

export interface ScheduledPullProps {
  readonly handler: TrailhoundFunction;
  readonly encryptionKey: IKey;
  readonly description: string;
}

/** How often a pull runs; a run's time budget stays below it, so runs do not pile up. */
export const PULL_PERIOD = Duration.minutes(5);

/**
 * Runs a pull function every {@link PULL_PERIOD} through EventBridge
 * Scheduler, with the input the pull handlers log as the run's identity
 * (`functions/commons/scheduled-pull.ts`). Nothing in the input steers the
 * run: the checkpoints in the profile table say where it resumes. The
 * alerting housekeeping runs the same way, for the same reasons: each run
 * picks up whatever is left (dead letters, quiet incidents), so a failed run
 * needs no retry either.
 *
 * A run the Scheduler cannot deliver within one period goes to a dead-letter
 * queue (encrypted, watched by the alarms). A run that fails is not retried:
 * the next run, minutes later, resumes from the last committed page anyway,
 * and a retry would only race it for the checkpoint. The function's reserved
 * concurrency of 1 keeps runs from overlapping; its errors alarm reports the
 * failure.
 */
export class ScheduledPull extends Construct {
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ScheduledPullProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of an EventBridge Scheduler target; a dead-letter queue has no dead-letter queue of its own.',
    });

    const role = new Role(this, 'SchedulerRole', {
      description: `Trailhound scheduler: ${props.description}`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
      }),
    );

    const fn = props.handler.function;
    // Lambda's asynchronous retries of a failed run: none (see above).
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: PULL_PERIOD });
    new Schedule(this, 'Schedule', {
      description: props.description,
      schedule: ScheduleExpression.rate(PULL_PERIOD),
      target: new LambdaInvoke(fn, {
        role,
        deadLetterQueue: this.deadLetterQueue,
        // Delivery is retried within one period; the next period has its own run.
        maxEventAge: PULL_PERIOD,
        input: ScheduleTargetInput.fromObject({
          scheduleArn: ContextAttribute.scheduleArn,
          scheduledTime: ContextAttribute.scheduledTime,
          executionId: ContextAttribute.executionId,
          attemptNumber: ContextAttribute.attemptNumber,
        }),
      }),
    });
    acknowledgeWildcardResource(
      role,
      `${fn.functionArn}:*`,
      "The Scheduler target grants lambda:InvokeFunction on the function's versions and aliases (<arn>:*) beside the function itself; the schedule invokes the unqualified function, and the role can invoke no other function.",
    );
  }
}
