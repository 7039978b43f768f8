import { describe, expect, it } from 'vitest';
import {
  forensicQueries,
  forensicQuery,
  quotedString,
  sqlString,
  subjectOfFinding,
  subjectOfIncident,
} from '../../../../../detectors/alerting/format/forensic-query.js';
import { foldFinding } from '../../../../../detectors/alerting/incident.js';
import { HOUR, makeFinding, T0 } from '../../../../helpers/findings.js';

/** The single-quoted SQL literals of a query, unescaped (a doubled quote is one quote). */
function sqlLiterals(sql: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] !== "'") continue;
    let value = '';
    for (i++; i < sql.length; i++) {
      if (sql[i] === "'" && sql[i + 1] === "'") {
        value += "'";
        i++;
      } else if (sql[i] === "'") break;
      else value += sql[i];
    }
    out.push(value);
  }
  return out;
}

/** The double-quoted literals of a KQL / Logging query, unescaped (backslash escapes). */
function quotedLiterals(text: string): string[] {
  const out: string[] = [];
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    let value = '';
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\') {
        i++;
        value += escapes[text[i]!] ?? text[i];
      } else value += text[i];
    }
    out.push(value);
  }
  return out;
}

/** POSIX shell word splitting for single quotes and backslashes (enough for these commands). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      word = (word ?? '') + command[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

const CRAFTED_SQL = "arn:aws:iam::111122223333:user/x' OR '1'='1";
const CRAFTED_QUOTED = 'evil" OR protoPayload.methodName:"x\\" OR "1"="1\nnext';

describe('forensic queries', () => {
  it('AWS: CloudTrail Lake SQL over the finding’s event ids and actor, time range widened by the margin', () => {
    // Prepare
    const finding = makeFinding({
      first_seen: T0,
      last_seen: T0 + HOUR,
      evidence: { event_uids: ['e-1', 'e-2'], operations: ['iam:ListUsers'] },
    });

    // Act
    const query = forensicQuery(finding, { cloudTrailLakeEventDataStore: 'eds-0123' });

    // Assess
    expect(query?.language).toBe('cloudtrail-lake-sql');
    expect(query?.text).toContain('FROM eds-0123');
    expect(query?.text).toContain("eventID IN ('e-1', 'e-2')");
    expect(query?.text).toContain("userIdentity.arn = 'arn:aws:iam::111122223333:user/mallory'");
    expect(query?.text).toContain("recipientAccountId = '111122223333'");
    expect(query?.text).toContain("eventTime >= '2026-03-03 08:00:00'");
    expect(query?.text).toContain("eventTime <= '2026-03-03 11:00:00'");
  });

  it('AWS: a crafted principal stays one SQL literal', () => {
    const finding = makeFinding({ actor: { principal: CRAFTED_SQL, type: 'IAMUser' } });

    const text = forensicQuery(finding)?.text ?? '';

    expect(text).toContain(`userIdentity.arn = ${sqlString(CRAFTED_SQL)}`);
    expect(sqlLiterals(text).filter((l) => l === CRAFTED_SQL)).toHaveLength(2);
    // Outside literals, nothing of the principal is left as SQL.
    const outside = text.replace(/'(?:[^']|'')*'/g, "''");
    expect(outside).not.toContain('1=');
    expect(outside).not.toContain("OR '1'");
  });

  it('AWS: a data store id that is not an id is not pasted into FROM', () => {
    const text = forensicQuery(makeFinding(), { cloudTrailLakeEventDataStore: 'x; DROP TABLE y' })?.text;
    expect(text).toContain('FROM <event-data-store-id>');
  });

  it('GCP: Logs Explorer filter on insertId or principalEmail and the time range, with a console link', () => {
    const finding = makeFinding({
      cloud: { provider: 'GCP', account: 'prod-project-1' },
      actor: { principal: 'mallory@example.com', type: 'User' },
      evidence: { event_uids: ['abc123', 'def456'], operations: ['iam:SetIamPolicy'] },
    });

    const query = forensicQuery(finding);

    expect(query?.language).toBe('gcp-logging');
    expect(query?.text).toContain('insertId=("abc123" OR "def456")');
    expect(query?.text).toContain('protoPayload.authenticationInfo.principalEmail="mallory@example.com"');
    expect(query?.text).toContain('timestamp>="2026-03-03T08:00:00Z"');
    expect(query?.text).toContain('timestamp<="2026-03-03T10:00:00Z"');
    expect(query?.consoleUrl).toMatch(/^https:\/\/console\.cloud\.google\.com\/logs\/query;query=/);
    expect(query?.consoleUrl).toContain('?project=prod-project-1');
    expect(decodeURIComponent(query?.consoleUrl?.split(';query=')[1]?.split('?project=')[0] ?? '')).toBe(
      query?.text,
    );
  });

  it('GCP: a crafted principal with quotes, backslashes and a newline stays one literal', () => {
    const finding = makeFinding({
      cloud: { provider: 'GCP', account: 'p' },
      actor: { principal: CRAFTED_QUOTED, type: 'User' },
    });

    const text = forensicQuery(finding)?.text ?? '';

    expect(quotedLiterals(text)).toContain(CRAFTED_QUOTED);
    expect(text).not.toContain('\nnext');
    expect(text).toContain(quotedString(CRAFTED_QUOTED));
  });

  it('Azure: KQL over AzureActivity by EventDataId or Caller for ARM operations', () => {
    const finding = makeFinding({
      cloud: { provider: 'Azure', account: 'sub-1' },
      actor: { principal: 'mallory@contoso.com', type: 'User' },
      evidence: {
        event_uids: ['11111111-2222-3333-4444-555555555555', 'corr-9:microsoft.x/write:Succeeded'],
        operations: ['microsoft.keyvault:microsoft.keyvault/vaults/secrets/read'],
      },
    });

    const text = forensicQuery(finding)?.text ?? '';

    expect(text).toContain('AzureActivity | where TimeGenerated between (start .. end)');
    expect(text).toContain('EventDataId in ("11111111-2222-3333-4444-555555555555")');
    expect(text).toContain('CorrelationId in ("corr-9")');
    expect(text).toContain('Caller =~ "mallory@contoso.com"');
    expect(text).toContain('let start = datetime(2026-03-03T08:00:00Z);');
    expect(text).not.toContain('SigninLogs');
  });

  it('Azure: Entra sign-ins and audit events read SigninLogs and AuditLogs; a crafted UPN is escaped', () => {
    const upn = 'x" or 1==1 | project Secret="';
    const finding = makeFinding({
      cloud: { provider: 'Azure', account: 'tenant-1' },
      actor: { principal: upn, type: 'User' },
      evidence: {
        event_uids: ['sign-in-id-1'],
        operations: ['Microsoft Entra sign-in:Sign-in activity', 'Core Directory:Add member to role'],
      },
    });

    const text = forensicQuery(finding)?.text ?? '';

    expect(text).toContain('union withsource=SourceTable');
    expect(text).toContain('(SigninLogs |');
    expect(text).toContain('(AuditLogs |');
    expect(text).toContain(`UserPrincipalName =~ ${quotedString(upn)}`);
    expect(quotedLiterals(text).filter((l) => l === upn)).toHaveLength(2);
    expect(text).not.toContain('| project Secret="');
  });

  it('GKE findings also get a Kubernetes audit query', () => {
    const finding = makeFinding({
      cloud: { provider: 'GCP', account: 'p' },
      actor: { principal: 'dev@example.com', type: 'User' },
      rule: { uid: 'gcp.credential-access.gke-secrets-listed-cluster-wide' },
      evidence: { event_uids: ['i1'], operations: ['k8s.io:io.k8s.core.v1.secrets.list'] },
    });

    const queries = forensicQueries(subjectOfFinding(finding));

    expect(queries.map((q) => q.title)).toEqual([
      'Cloud Audit Logs (Logs Explorer)',
      'GKE audit log (Logs Explorer)',
    ]);
    expect(queries[1]?.text).toContain('resource.type="k8s_cluster"');
  });

  it('EKS and AKS findings get Logs Insights and AKSAudit queries; AWS findings of other rules do not', () => {
    const eks = makeFinding({ rule: { uid: 'aws.privilege-escalation.eks-cluster-admin-binding' } });
    const aks = makeFinding({
      cloud: { provider: 'Azure', account: 's' },
      rule: { uid: 'azure.credential-access.aks-cluster-admin-credentials-listed' },
    });

    const [, eksQuery] = forensicQueries(subjectOfFinding(eks), {
      eksAuditLogGroup: '/aws/eks/prod/cluster',
    });
    const [, aksQuery] = forensicQueries(subjectOfFinding(aks));

    expect(eksQuery?.language).toBe('cloudwatch-logs-insights');
    expect(eksQuery?.title).toContain('/aws/eks/prod/cluster');
    expect(eksQuery?.text).toContain('user.username = "arn:aws:iam::111122223333:user/mallory"');
    expect(aksQuery?.text).toMatch(/^AKSAudit/);
    expect(forensicQueries(subjectOfFinding(makeFinding()))).toHaveLength(1);
  });

  it('self-managed Kubernetes (provider Other): a jq filter, shell- and JSON-quoted', () => {
    const principal = "system:serviceaccount:x:y' ; rm -rf / ; '";
    const finding = makeFinding({
      cloud: { provider: 'Other' as never, account: 'cluster-1' },
      actor: { principal, type: 'ServiceAccount' },
      evidence: { event_uids: ['a-1'], operations: ['k8s:secrets.list'] },
    });

    const [query] = forensicQueries(subjectOfFinding(finding));

    expect(query?.language).toBe('jq');
    const words = shellWords(query?.text ?? '');
    expect(words).toHaveLength(4);
    expect(words.slice(0, 2)).toEqual(['jq', '-c']);
    expect(words[2]).toContain(`.user.username == ${JSON.stringify(principal)}`);
    expect(words[3]).toBe('audit.log');
  });

  it('an incident’s query spans the incident and, for a resource incident, keeps the finding’s actor', () => {
    const first = makeFinding({ first_seen: T0, last_seen: T0 });
    const later = makeFinding({ finding_uid: 'f-2', first_seen: T0 + 3 * HOUR, last_seen: T0 + 3 * HOUR });
    const { incident } = foldFinding(foldFinding(undefined, first, T0).incident, later, T0 + 3 * HOUR);

    const subject = subjectOfIncident(incident, later);

    expect(subject.from).toBe(T0);
    expect(subject.to).toBe(T0 + 3 * HOUR);
    expect(subject.eventUids).toEqual(later.evidence.event_uids);
    expect(subject.principal).toBe('arn:aws:iam::111122223333:user/mallory');
  });
});
