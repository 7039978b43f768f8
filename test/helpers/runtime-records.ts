/** Runtime collector wire records (schema/runtime-record.ts) for tests. */
const FUNCTION = {
  name: 'orders-api',
  version: '$LATEST',
  region: 'us-east-1',
  account: '111122223333',
  arn: 'arn:aws:lambda:us-east-1:111122223333:function:orders-api',
  role_session: 'arn:aws:sts::111122223333:assumed-role/orders-api-role/orders-api',
  runtime: 'nodejs22.x',
};

export const RUNTIME_T0 = Date.parse('2026-03-06T00:00:00Z');

/** One record of `kind`, at `RUNTIME_T0 + seconds`; `undefined` in `fields` removes a default. */
export function runtimeRecord(
  kind: string,
  fields: Record<string, unknown> = {},
  seconds = 0,
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    trailhound_runtime: 1,
    kind,
    time: RUNTIME_T0 + seconds * 1000,
    function: { ...FUNCTION },
    request_id: '8f5a2b1c-1111-4a5b-9c3d-000000000001',
    ...fields,
  };
  for (const [key, value] of Object.entries(record)) if (value === undefined) delete record[key];
  return record;
}
