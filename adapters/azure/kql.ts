/**
 * The KQL of the Log Analytics pull: one query per page, over one table and
 * one time slice, in a stable order so that pages can follow one another.
 *
 * Log Analytics has no page token. A page is the first `take` rows of a
 * slice in `(TimeGenerated to the millisecond, record key)` order; the next
 * page asks for the rows after the last one in that order (keyset paging), so
 * rows sharing a timestamp are neither skipped nor read twice. The
 * millisecond (`bin(TimeGenerated, 1ms)`) is the order's time because that is
 * what the SDK gives back (it turns datetimes into `Date`s): the order the
 * query uses and the position the client resumes from are the same values.
 *
 * The record key is the stable identity the checkpoint deduplicates on:
 * AzureActivity's `EventDataId` (else `CorrelationId:OperationNameValue:
 * ActivityStatusValue`), AuditLogs' and SigninLogs' `Id`. It is computed in
 * the query (`TrailhoundKey`) so that the order and the identity agree.
 */

export const AZURE_TABLES = ['AzureActivity', 'AuditLogs', 'SigninLogs'] as const;
export type AzureTable = (typeof AZURE_TABLES)[number];

/** Columns the query adds; the pull removes them from the records it hands over. */
export const KEY_COLUMN = 'TrailhoundKey';
export const TIME_COLUMN = 'TrailhoundMs';

const KEY_EXPRESSIONS: Record<AzureTable, string> = {
  AzureActivity:
    'iff(isnotempty(EventDataId), EventDataId, strcat(CorrelationId, ":", OperationNameValue, ":", ActivityStatusValue))',
  AuditLogs: 'Id',
  SigninLogs: 'Id',
};

/** Where a page starts: after this row of the order. */
export interface PagePosition {
  /** Epoch ms (the row's `TrailhoundMs`). */
  readonly time: number;
  readonly key: string;
}

export interface PageQuery {
  readonly table: AzureTable;
  /** `[from, to)`, epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly after?: PagePosition;
  readonly take: number;
}

export function pageQuery(query: PageQuery): string {
  const lines = [
    query.table,
    `| where TimeGenerated >= ${datetime(query.from)} and TimeGenerated < ${datetime(query.to)}`,
    `| extend ${KEY_COLUMN} = ${KEY_EXPRESSIONS[query.table]}, ${TIME_COLUMN} = bin(TimeGenerated, 1ms)`,
  ];
  if (query.after !== undefined) {
    const time = datetime(query.after.time);
    lines.push(
      `| where ${TIME_COLUMN} > ${time} or (${TIME_COLUMN} == ${time} and strcmp(${KEY_COLUMN}, ${stringLiteral(query.after.key)}) > 0)`,
    );
  }
  lines.push(`| order by ${TIME_COLUMN} asc, ${KEY_COLUMN} asc`, `| take ${query.take}`);
  return lines.join('\n');
}

function datetime(ms: number): string {
  return `datetime(${new Date(ms).toISOString()})`;
}

/**
 * A verbatim string literal (`@"…"`): nothing is an escape in it except `""`
 * for a quote, so no record key can end the literal early or inject KQL.
 */
export function stringLiteral(value: string): string {
  return `@"${value.replaceAll('"', '""')}"`;
}
