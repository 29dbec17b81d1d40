/**
 * S3 adapter: reading log objects and writing small data-quality and report files.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type {
  ListedObject,
  ObjectLister,
  ObjectReader,
  ObjectWriter,
  OpenedObject,
} from '../ingest/ports.ts';

export type { ListedObject, ObjectLister, ObjectReader, ObjectWriter, OpenedObject };

export const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

const MISSING = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound']);

/** Size of each part of a streamed upload (S3's minimum is 5 MiB, except the last part). */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

export class S3Objects implements ObjectReader, ObjectWriter, ObjectLister {
  constructor(
    private readonly s3: S3Client,
    private readonly partBytes = UPLOAD_PART_BYTES,
  ) {}

  /**
   * Writes an object from chunks: one PutObject when it all fits in one part, else a multipart
   * upload with parts of `partBytes` (aborted if anything fails). At most one part is in memory.
   * Every part carries its CRC32, declared at CreateMultipartUpload and listed again at
   * CompleteMultipartUpload, as S3 wants of an upload whose parts have checksums (the SDK adds a
   * CRC32 to UploadPart by default; a part checksum the upload did not declare can be refused).
   */
  async putStream(
    bucket: string,
    key: string,
    chunks: AsyncIterable<string | Uint8Array>,
    contentType: string,
  ): Promise<void> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string | undefined; PartNumber: number; ChecksumCRC32: string }[] = [];
    const take = (): Buffer => {
      const b = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return b;
    };
    const uploadPart = async (body: Buffer) => {
      if (uploadId === undefined) {
        const out = await this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            ContentType: contentType,
            ChecksumAlgorithm: 'CRC32',
          }),
        );
        uploadId = out.UploadId;
      }
      const PartNumber = parts.length + 1;
      const ChecksumCRC32 = crc32Base64(body);
      const out = await this.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber,
          Body: body,
          ContentLength: body.length,
          ChecksumAlgorithm: 'CRC32',
          ChecksumCRC32,
        }),
      );
      parts.push({ ETag: out.ETag, PartNumber, ChecksumCRC32 });
    };
    try {
      for await (const chunk of chunks) {
        const b =
          typeof chunk === 'string'
            ? Buffer.from(chunk)
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= this.partBytes) await uploadPart(take());
      }
      if (uploadId === undefined) return await this.put(bucket, key, take(), contentType);
      if (pendingBytes > 0) await uploadPart(take());
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      if (uploadId !== undefined) {
        await this.s3
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw err;
    }
  }

  /** Objects under `prefix` (after the key `startAfter`), page by page, with ETag and LastModified. */
  async *listObjects(bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token === undefined && startAfter !== undefined ? { StartAfter: startAfter } : {}),
          ContinuationToken: token,
        }),
      );
      for (const o of out.Contents ?? []) {
        if (o.Key) yield { key: o.Key, etag: unquote(o.ETag), lastModified: o.LastModified, size: o.Size };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

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

  /** Deletes the current version (a delete marker in a versioned bucket; old versions stay). */
  async delete(bucket: string, key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
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

  /** The sha256 (hex) of an object's bytes, streamed; undefined when it is missing. */
  async sha256(bucket: string, key: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      return hash.digest('hex');
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

/** The CRC32 of some bytes as S3's checksum headers carry it: base64 of the big-endian 4 bytes. */
export function crc32Base64(bytes: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(bytes) >>> 0);
  return out.toString('base64');
}
