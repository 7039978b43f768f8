import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { INGEST_SOURCES } from '../../cdk/telemetry.js';
import { synthesize } from './synth.js';

const { detectionTemplate: template } = synthesize();
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
const topicId = Object.keys(
  template.findResources('AWS::SNS::Topic', { Properties: { DisplayName: 'Trailhound source health' } }),
)[0] as string;

function alarmsOn(metricName: string) {
  return alarms.filter((a) => a.MetricName === metricName);
}

describe('SourceHealthAlarms', () => {
  it('watches each enabled source with a dead-man alarm on EventsIn {service, source}; missing data breaches', () => {
    const deadMen = alarmsOn('EventsIn');

    expect(
      deadMen.map((a) => a.Dimensions.find((d: { Name: string }) => d.Name === 'source').Value).sort(),
    ).toEqual([...INGEST_SOURCES].sort());
    for (const alarm of deadMen) {
      expect(alarm).toMatchObject({
        Namespace: 'Trailhound',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'breaching',
      });
      expect(alarm.Dimensions).toEqual([
        { Name: 'service', Value: 'trailhound' },
        { Name: 'source', Value: expect.any(String) },
      ]);
    }
  });

  it('takes each dead-man window from the configuration (30 minutes unless set)', () => {
    const periods = Object.fromEntries(
      alarmsOn('EventsIn').map((a) => [a.Dimensions[1].Value, a.Period / 60]),
    );

    expect(periods).toEqual({
      'cloudtrail-s3': 30,
      'cloudtrail-eventbridge': 30,
      'gcp-push': 30,
      'gcp-pull': 60,
      'azure-pull': 30,
    });
  });

  it('alarms on every function erroring or throttled, over 5 minutes, one datapoint', () => {
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    for (const metric of ['Errors', 'Throttles']) {
      const watched = alarmsOn(metric).map((a) => a.Dimensions[0].Value.Ref);
      expect(watched.sort()).toEqual([...functions].sort());
      for (const alarm of alarmsOn(metric))
        expect(alarm).toMatchObject({
          Namespace: 'AWS/Lambda',
          Statistic: 'Sum',
          Period: 300,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          TreatMissingData: 'notBreaching',
        });
    }
  });

  it('alarms on work queues older than 15 minutes, undelivered alerts older than an hour, and on any dead letter', () => {
    const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
    const aged = alarmsOn('ApproximateAgeOfOldestMessage');
    const deadLetters = alarmsOn('ApproximateNumberOfMessagesVisible');
    const queueOf = (a: { Dimensions: { Value: { 'Fn::GetAtt': string[] } }[] }) =>
      a.Dimensions[0]?.Value['Fn::GetAtt'][0] ?? '';
    const thresholds = Object.fromEntries(
      aged.map((a) => [queueOf(a).replace(/[0-9A-F]{8}$/, ''), a.Threshold]),
    );

    expect([...aged, ...deadLetters].map(queueOf).sort()).toEqual([...queues].sort());
    expect(thresholds).toEqual({
      CloudTrailEventBridgeIngestEventsQueue: 900,
      CloudTrailS3IngestNotificationsQueue: 900,
      AlertingFindingsQueue: 900,
      AlertingUndelivered: 3600,
    });
    for (const alarm of aged) expect(alarm).toMatchObject({ Statistic: 'Maximum' });
    for (const alarm of deadLetters)
      expect(alarm).toMatchObject({
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
  });

  it('notifies the encrypted alarm topic, subscribed by email, on alarm and on recovery', () => {
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Trailhound source health',
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topicId },
      Protocol: 'email',
      Endpoint: 'secops@example.com',
    });
  });

  it('watches only the sources a deployment has', () => {
    const bare = synthesize({}).detectionTemplate;
    const deadMen = Object.values(bare.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === 'EventsIn',
    );

    expect(deadMen.map((a) => a.Properties.Dimensions[1].Value)).toEqual(['cloudtrail-eventbridge']);
  });
});
