/**
 * User agents as the AWS clients really write them. Several name the call:
 * AWS CLI v2 appends `md/command#<service>.<command>` and the JavaScript SDK v3
 * appends `api/<service>#<version>`, so they are functions of the call.
 */
import type { ApiCall } from './record.js';

export const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36';
export const FIREFOX_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0';
export const SAFARI_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15';
export const EDGE_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0';

const CLI_SERVICE_NAMES: Record<string, string> = { s3: 's3api', monitoring: 'cloudwatch' };

/** `UpdateFunctionCode20150331v2` on `lambda` → `lambda.update-function-code`. */
export function cliCommand(call: ApiCall): string {
  const operation = call.operation
    .replace(/\d{8}(v\d+)?$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
  return `${CLI_SERVICE_NAMES[call.service] ?? call.service}.${operation}`;
}

/** AWS CLI v2 on a given platform (`os/macos#24.3.0 md/arch#arm64`). */
export function awsCliV2(version: string, platform: string, distribution = ''): (call: ApiCall) => string {
  const base = `aws-cli/${version} md/awscrt#0.23.8 ua/2.0 ${platform} lang/python#3.12.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe`;
  const distrib = distribution === '' ? '' : ` md/distrib#${distribution}`;
  return (call) => `${base}${distrib} md/prompt#off md/command#${cliCommand(call)}`;
}

export const CLI_MAC = awsCliV2('2.24.10', 'os/macos#24.3.0 md/arch#arm64');
export const CLI_LINUX_LAPTOP = awsCliV2('2.23.6', 'os/linux#6.8.0-52-generic md/arch#x86_64', 'ubuntu.24');
/** An attacker's Kali box: the distribution shows in the agent, as it does in real incidents. */
export const CLI_KALI = awsCliV2('2.15.30', 'os/linux#6.6.9-amd64 md/arch#x86_64', 'kali.2024');

/** AWS CLI v1 on the old Jenkins host: botocore-style agent, no command suffix. */
export const CLI_V1_JENKINS =
  'aws-cli/1.32.101 md/Botocore#1.34.101 ua/2.0 os/linux#5.15.0-1061-aws md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.101';

export const PYTHON_REQUESTS = 'python-requests/2.31.0';

const JS_SDK_SERVICE_IDS: Record<string, string> = {
  secretsmanager: 'secrets-manager',
  cloudformation: 'cloudformation',
  dynamodb: 'dynamodb',
};

/** The JavaScript SDK v3 in a given environment (`exec-env/AWS_Lambda_nodejs20.x`). */
export function jsSdkV3(version: string, environment: string): (call: ApiCall) => string {
  return (call) => {
    const api = JS_SDK_SERVICE_IDS[call.service] ?? call.service;
    return `aws-sdk-js/${version} ua/2.1 ${environment} api/${api}#${version} m/E,N`;
  };
}

export const JS_SDK_LAMBDA_NODE20 = jsSdkV3(
  '3.637.0',
  'os/linux#5.10.227-239.884.amzn2.x86_64 lang/js md/nodejs#20.18.0 exec-env/AWS_Lambda_nodejs20.x',
);
/** GitHub-hosted runners are Azure VMs; the kernel name says so. */
export const JS_SDK_GITHUB_RUNNER = jsSdkV3('3.650.0', 'os/linux#6.8.0-1021-azure lang/js md/nodejs#20.18.1');

export const BOTO3_LAMBDA_PYTHON312 =
  'Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145';
export const BOTO3_EC2 =
  'Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.1.119-129.201.amzn2023.x86_64 md/arch#x86_64 lang/python#3.9.20 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36';
export const SSM_AGENT = 'aws-sdk-go/1.55.5 (go1.22.9; linux; amd64) amazon-ssm-agent/3.3.1142.0';
export const CLOUDWATCH_AGENT =
  'CWAgent/1.300049.1 (go1.22.7; linux; amd64) inputs:(cpu disk mem) outputs:(cloudwatchlogs)';

/** The AWS CLI on a rented Linux server. */
export const CLI_VPS = awsCliV2('2.17.20', 'os/linux#5.15.0-113-generic md/arch#x86_64', 'ubuntu.22');
export const BOTO3_VPS =
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0-105-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69';
export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
export const CURL = 'curl/8.5.0';
