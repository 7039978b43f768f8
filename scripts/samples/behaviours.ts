/**
 * Names for the behaviours the attack stories exhibit, and that the decoys
 * imitate. Rule-agnostic on purpose: a rule id may change, the behaviour it
 * looks for does not. Tests and the README refer to these names.
 */
export const BEHAVIOURS = {
  'access-key-used-from-new-ip':
    'A long-term access key signs calls from an address and client it never used before.',
  'caller-identity-probe': 'sts:GetCallerIdentity as the first call of a new actor: "whose keys are these?"',
  'discovery-burst': 'Many List/Describe/Get calls across several services within minutes.',
  'iam-user-created': 'A new IAM user.',
  'access-key-created-for-other-user': 'An access key created for a user other than the caller.',
  'admin-policy-attached': 'AdministratorAccess (or equivalent) attached to a user or role.',
  'iam-role-created': 'A new IAM role with a policy attached.',
  'cloudtrail-logging-stopped': 'StopLogging or DeleteTrail on a trail.',
  'session-used-from-two-ips': "One role session's credentials used from two unrelated addresses at once.",
  'snapshot-made-public': 'An EBS or RDS snapshot made restorable by everyone.',
  'snapshot-shared': 'A snapshot or AMI shared with another account.',
  'bucket-public-access-block-removed': 'S3 Block Public Access removed from a bucket.',
  'bucket-policy-public':
    'A bucket policy granting access to everyone ("Principal": "*" without a scoping condition).',
  'root-console-login-without-mfa': 'The root user signs in to the console without MFA.',
  'root-activity': 'API calls made by the root user.',
  'kms-key-deletion-scheduled': 'A customer-managed KMS key scheduled for deletion (or disabled).',
  'workload-credentials-used-outside-aws':
    "A Lambda or EC2 role session used from an address outside the workload's network.",
  'secrets-bulk-read': 'GetSecretValue on many different secrets by one principal in a short time.',
  'unused-region-activity': 'Activity in a region the organization does not use.',
  'gpu-instances-launched': 'GPU or large compute instances launched, the shape of crypto-mining.',
  'security-group-opened-to-world': 'A security group rule allowing 0.0.0.0/0 (or ::/0).',
  'security-group-opened': 'A security group ingress rule added.',
  'lambda-code-modified': "A Lambda function's code replaced.",
  'console-login-failure': 'A failed console sign-in.',
} as const;

export type Behaviour = keyof typeof BEHAVIOURS;
