/**
 * S3Objects.putStream's multipart upload, as S3 sees it (aws-sdk-client-mock: no network): every
 * part's CRC32 is declared at CreateMultipartUpload, sent with the part and listed again at
 * CompleteMultipartUpload.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { crc32Base64, S3Objects } from '../../../functions/adapters/object-store.ts';

const s3 = new S3Client({ region: 'us-east-1' });
const mock = mockClient(s3);

async function* chunks(...parts: string[]): AsyncGenerator<string> {
  yield* parts;
}

describe('S3Objects.putStream', () => {
  beforeEach(() => {
    mock.reset();
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    mock
      .on(UploadPartCommand)
      .callsFake((input: { PartNumber: number }) => ({ ETag: `"e${input.PartNumber}"` }));
    mock.on(CompleteMultipartUploadCommand).resolves({});
    mock.on(PutObjectCommand).resolves({});
  });

  it('gives CRC32 as S3 does: base64 of the big-endian 4 bytes', () => {
    // CRC32("hello") = 0x3610a686.
    expect(crc32Base64(Buffer.from('hello'))).toBe(Buffer.from([0x36, 0x10, 0xa6, 0x86]).toString('base64'));
  });

  it('declares CRC32 for a multipart upload, sends each part’s and lists them all at completion', async () => {
    await new S3Objects(s3, 8).putStream('b', 'k', chunks('hello', ' wor', 'ld, again', '!'), 'text/plain');
    const create = mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input;
    expect(create).toMatchObject({
      Bucket: 'b',
      Key: 'k',
      ContentType: 'text/plain',
      ChecksumAlgorithm: 'CRC32',
    });
    const parts = mock.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    const bodies = ['hello wor', 'ld, again', '!'];
    expect(parts.map((p) => Buffer.from(p.Body as Buffer).toString())).toEqual(bodies);
    expect(parts.map((p) => [p.ChecksumAlgorithm, p.ChecksumCRC32])).toEqual(
      bodies.map((b) => ['CRC32', crc32Base64(Buffer.from(b))]),
    );
    const complete = mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete?.MultipartUpload?.Parts).toEqual(
      bodies.map((b, i) => ({
        ETag: `"e${i + 1}"`,
        PartNumber: i + 1,
        ChecksumCRC32: crc32Base64(Buffer.from(b)),
      })),
    );
  });

  it('puts a body within one part as one object', async () => {
    await new S3Objects(s3, 1024).putStream('b', 'k', chunks('small'), 'text/plain');
    expect(mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});
