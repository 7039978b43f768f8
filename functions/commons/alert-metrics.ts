import type { AlertSummary } from '../../detectors/alerting/alerter.js';
import { logger, MetricUnit, metrics } from './powertools.js';

/**
 * The metrics of one alerting run: findings in, suppressed, incidents opened
 * and updated, and per destination what was delivered, dead-lettered and held
 * back by a rate limit (dimension `destination`), which the alarms watch.
 * Expired suppressions are logged by id every run until their owners act.
 */
export function recordAlertSummary(summary: AlertSummary): void {
  metrics.addMetric('FindingsIn', MetricUnit.Count, summary.findings);
  metrics.addMetric('FindingsSuppressed', MetricUnit.Count, summary.suppressed);
  metrics.addMetric('IncidentsOpened', MetricUnit.Count, summary.incidentsOpened);
  metrics.addMetric('IncidentsUpdated', MetricUnit.Count, summary.incidentsUpdated);
  for (const [destination, tally] of Object.entries(summary.destinations)) {
    const single = metrics.singleMetric();
    single.addDimension('destination', destination);
    single.addMetric('NotificationsDelivered', MetricUnit.Count, tally.delivered);
    single.addMetric('NotificationsDeadLettered', MetricUnit.Count, tally.failed);
    single.addMetric('NotificationsRateLimited', MetricUnit.Count, tally.rateLimited);
  }
  if (summary.expiredSuppressions.length > 0) {
    metrics.addMetric('ExpiredSuppressions', MetricUnit.Count, summary.expiredSuppressions.length);
    logger.warn('suppressions past their expiry no longer apply; renew or remove them', {
      expiredSuppressions: summary.expiredSuppressions,
    });
  }
}
