/**
 * Who changes the terms (issue 11), recorded with every agreement and registry version and every
 * forced registry load:
 *
 *  - on the embedded local stack: the OS user running the CLI (os.userInfo());
 *  - against a deployed stack (`--stack`): the ARN of the AWS caller, from STS GetCallerIdentity
 *    signed with the same credentials the CLI writes the control table with (an IAM user, or an
 *    assumed role's session ARN `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`). GetCallerIdentity
 *    needs no permission. When STS cannot be reached, the OS user with the reason is recorded.
 */
import { createHash, type Hash } from 'node:crypto';
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

/** sha256 for SignatureV4 on node:crypto. */
class Sha256 {
  private hash: Hash = createHash('sha256');
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = createHash('sha256');
  }
}

/** The caller's ARN from STS GetCallerIdentity (Query API, SigV4, regional endpoint). */
export async function awsCallerArn(
  region: string,
  credentials: AwsCredentialIdentityProvider,
): Promise<string> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const hostname = `sts.${region}.amazonaws.com`;
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname,
    path: '/',
    query: {},
    headers: { host: hostname, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const res = await fetch(`https://${hostname}/`, {
    method: 'POST',
    headers: signed.headers,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!res.ok || arn === undefined) throw new Error(`STS GetCallerIdentity answered ${res.status}`);
  return arn;
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
