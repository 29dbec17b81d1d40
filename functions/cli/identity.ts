/**
 * Who changes the terms (issue 11), recorded with every agreement and registry version and every
 * forced registry load:
 *
 *  - on the embedded local stack: the OS user running the CLI (os.userInfo());
 *  - against a deployed stack (`--stack`): the ARN of the AWS caller, from STS GetCallerIdentity
 *    signed with the same credentials the CLI writes the control table with (an IAM user, or an
 *    assumed role's session ARN `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`). GetCallerIdentity
 *    needs no permission (@aws-sdk/client-sts). When STS cannot be reached, the OS user with the reason is recorded.
 */
import { userInfo } from 'node:os';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** The OS user running the CLI. */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The caller's ARN from STS GetCallerIdentity (regional endpoint; loaded only when needed). */
export async function awsCallerArn(
  region: string,
  credentials: AwsCredentialIdentityProvider,
): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region, credentials, maxAttempts: 2 });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}), {
      abortSignal: AbortSignal.timeout(10_000),
    });
    if (Arn === undefined) throw new Error('STS GetCallerIdentity answered no Arn');
    return Arn;
  } finally {
    sts.destroy();
  }
}

/** awsCallerArn, or the OS user saying why the ARN is missing. */
export async function callerIdentity(
  region: string,
  credentials: AwsCredentialIdentityProvider,
): Promise<string> {
  try {
    return await awsCallerArn(region, credentials);
  } catch (err) {
    return `${osUser()} (AWS caller identity unavailable: ${err instanceof Error ? err.message : String(err)})`;
  }
}
