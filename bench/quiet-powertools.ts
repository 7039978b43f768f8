/**
 * Imported first by benches that run a Lambda handler: Powertools reads these
 * when its logger and metrics are created (at import), and a bench wants
 * neither a log line per finding nor EMF records on stdout.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
