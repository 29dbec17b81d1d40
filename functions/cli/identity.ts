/**
 * Who runs a command that the control table records (a forced registry load, a finding's state
 * change): the OS user locally; with --stack, the AWS credentials as well (see callerOf).
 */
import { userInfo } from 'node:os';

/** The OS user running the CLI ('unknown' when the system cannot tell). */
export function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * The caller against a deployed stack, without calling STS (the CLI's roles need no
 * sts:GetCallerIdentity): the access key id of the credentials the SDK resolved, which names one
 * IAM user or role session (`aws sts get-access-key-info`, CloudTrail and the IAM console map it
 * to its principal), the profile when one is set, and the OS user:
 * `alice (AWS access key AKIA…, profile audit)`.
 */
export async function callerOf(
  credentials: () => Promise<{ accessKeyId: string }>,
  env: Record<string, string | undefined> = process.env,
): Promise<string> {
  let key = 'unknown';
  try {
    key = (await credentials()).accessKeyId;
  } catch {
    // No credentials: the put that follows fails with the SDK's own error.
  }
  const profile = env.AWS_PROFILE ? `, profile ${env.AWS_PROFILE}` : '';
  return `${whoAmI()} (AWS access key ${key}${profile})`;
}
