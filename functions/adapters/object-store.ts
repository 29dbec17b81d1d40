/**
 * S3 adapter: reading log objects and writing small data-quality and report files.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectReader, ObjectWriter, OpenedObject } from '../ingest/ports.ts';

export type { ObjectReader, ObjectWriter, OpenedObject };

export const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

const MISSING = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound']);

export class S3Objects implements ObjectReader, ObjectWriter {
  constructor(private readonly s3: S3Client) {}

  async open(bucket: string, key: string, versionId?: string): Promise<OpenedObject | undefined> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
      );
      const body = out.Body as unknown as AsyncIterable<Uint8Array> & { destroy?: () => void };
      return {
        body,
        etag: unquote(out.ETag),
        versionId: out.VersionId && out.VersionId !== 'null' ? out.VersionId : undefined,
        lastModified: out.LastModified,
        size: out.ContentLength,
        abort: () => body.destroy?.(),
      };
    } catch (err) {
      if (err instanceof Error && MISSING.has(err.name)) return undefined;
      throw err;
    }
  }

  async put(bucket: string, key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    // With a known length the SDK sends the body as it is (no "stream of unknown length" path).
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: contentType,
      }),
    );
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await (out.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
      if (err instanceof Error && MISSING.has(err.name)) return undefined;
      throw err;
    }
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}
