/**
 * S3Objects.putStream's multipart upload with part checksums (CRC32 declared, sent and listed) on
 * s3rver through the real SDK client: the object reads back whole, byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { startTestBed, type TestBed } from '../support/emulators.ts';

describe('a multipart upload with part checksums', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed('dynalite');
  }, 120_000);
  afterAll(async () => {
    await bed?.stop();
  });

  it('reads back as written', async () => {
    const objects = new S3Objects(bed.emulators.s3, 64 * 1024);
    const lines = Array.from({ length: 4_000 }, (_, i) => `{"n":${i},"text":"${'é'.repeat(i % 50)}"}\n`);
    async function* body(): AsyncGenerator<string> {
      yield* lines;
    }
    await objects.putStream(bed.reportsBucket, 'reports/multipart.jsonl', body(), 'application/x-ndjson');
    const text = await objects.getText(bed.reportsBucket, 'reports/multipart.jsonl');
    expect(Buffer.byteLength(text ?? '')).toBeGreaterThan(3 * 64 * 1024);
    expect(text).toBe(lines.join(''));
  });
});
