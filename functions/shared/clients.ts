/**
 * SDK clients, created once per process. In AWS they use the defaults. The embedded local stack
 * points them at its emulators through AUDITOR_S3_ENDPOINT / AUDITOR_DYNAMODB_ENDPOINT; only then
 * are the emulator-specific settings (path-style addressing, checksums only when required) applied.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type Env = Record<string, string | undefined>;

export function createS3Client(env: Env = process.env): S3Client {
  const endpoint = env.AUDITOR_S3_ENDPOINT;
  if (!endpoint) return new S3Client({});
  return new S3Client({
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

export function createDynamoClient(env: Env = process.env): DynamoDBClient {
  const endpoint = env.AUDITOR_DYNAMODB_ENDPOINT;
  if (!endpoint) return new DynamoDBClient({});
  return new DynamoDBClient({
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
