/**
 * The bytes of every report file, pinned by sha256 for inputs of several shapes and sizes (recorded
 * from the renderer that built each file as one string): rendering the files as streams of chunks
 * (report-stream.ts) must not change a byte, restatement.json and the manifest included.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ReportInput,
  renderReport,
  type StreamedReportFile,
  streamReport,
} from '../../../functions/core/audit/report.ts';
import {
  type Restatement,
  withRestatement,
  withStreamedRestatement,
} from '../../../functions/core/audit/restatement.ts';
import { reportInput } from '../../support/report-input.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const INPUTS: Record<string, () => ReportInput> = {
  empty: () => ({ ...reportInput({ licensees: 0, appsPerLicensee: 0, sourcesPerRow: 0 }), extraFiles: {} }),
  small: () => reportInput({ licensees: 1, appsPerLicensee: 2, sourcesPerRow: 1 }),
  medium: () => reportInput({ licensees: 4, appsPerLicensee: 3, sourcesPerRow: 3, seed: 7 }),
  // Past REPORT_MAX_SOURCES (sources_truncated) and with objects_truncated from the rollups.
  large: () => ({
    ...reportInput({ licensees: 12, appsPerLicensee: 4, sourcesPerRow: 5, seed: 3 }),
    sourcesTruncated: true,
  }),
};

const ENTRY: Restatement = {
  restated_at: '2026-11-21T02:00:00.000Z',
  previous_manifest_sha256: '12'.repeat(32),
  previous_content_sha256: '34'.repeat(32),
  content_sha256: '56'.repeat(32),
  reasons: { terms: [], usage_days: ['2026-11-03'], other: 'x' },
  findings: [
    {
      finding_id: 'f1',
      licensee: 'lic-000',
      rule: 'quota',
      metric: 'records',
      subject: null,
      old: null,
      new: {
        severity: 'high',
        period_start: '2026-11-01',
        period_end: '2026-11-20',
        observed: 5,
        limit: 4,
        excess: 1,
        amount_owed: null,
        currency: null,
      },
    },
  ],
};

const STORED = `${JSON.stringify({ report_date: '2026-11-20', restatements: [ENTRY] })}\n`;
const NEXT: Restatement = { ...ENTRY, restated_at: '2026-11-22T02:00:00.000Z' };

/** name → sha256 of each file (renderReport's whole strings), restatement.json and the restated manifest last. */
function hashes(input: ReportInput): Record<string, string> {
  const rendered = renderReport(input);
  const out: Record<string, string> = {};
  for (const f of rendered.files) out[f.name] = sha(f.body);
  const restated = withRestatement(rendered, STORED, NEXT);
  for (const f of restated.files.slice(-2)) out[`restated ${f.name}`] = sha(f.body);
  return out;
}

/** sha256 of a body as the audit writes it: whole, or its chunks one after another. */
async function bodySha(f: StreamedReportFile): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of typeof f.body === 'string' ? [f.body] : f.body) hash.update(chunk);
  return hash.digest('hex');
}

/** The same from streamReport and withStreamedRestatement (the audit's path), each body read once. */
async function streamedHashes(input: ReportInput): Promise<Record<string, string>> {
  const rendered = streamReport(input);
  const out: Record<string, string> = {};
  for (const f of rendered.files) out[f.name] = await bodySha(f);
  const restated = withStreamedRestatement(streamReport(input), STORED, NEXT);
  for (const f of restated.files.slice(-2)) out[`restated ${f.name}`] = await bodySha(f);
  return out;
}

const GOLDEN: Record<string, Record<string, string>> = {
  empty: {
    'report.json': 'bcc4388271c2aceb831d115d98e346c68ec990440642fc70ef130e090f2a3a99',
    'findings.jsonl': '5df10627ae4294104806908da7c543ecb2e8959906e8c5b01e711f1d1f18ed72',
    'usage.jsonl': '49bac9ed9c89e210340afe1d28fbfbfaff60650d14dd2a90d9b6df0c448321e8',
    'findings.csv': 'ff13244614c8546c87c60f99d3e84c5235baf30cfa1c57e2dcbd5fe87c6ddf25',
    'report.html': '2e813842ef0b9c0e57239768391224233e06b9d54f6bc0dc3664dc3f56f0bc35',
    'manifest.json': '02620b462b9c7e3647c48fb64e0be38dec1d4f6be6cc25917541787e11046e00',
    'restated restatement.json': 'a0b77ddfe2c1a9c42cb66c8e802b0d43641735f53cd97eba7383e2997a87a632',
    'restated manifest.json': '8b897e484d4b75bfb24a7cd15e2559ee25553640905dea8732336c46b07f0f1d',
  },
  small: {
    'report.json': 'b301a9b3fa1f0474f31c014d7c13fefb056c921a17ffb2ce23b6d1e620250774',
    'findings.jsonl': '6d7a906ea1467367b0f28730d4622cf3c0719061a5db1c79c454d440bac4c348',
    'usage.jsonl': 'b01359606e64c6ae02dee7fe1f57bb1bbd58699e7188a8311f37cf5f705a90e4',
    'findings.csv': '67eb7eec804bcbe957a943648d5862b7f116c5837df8b51e5d343a1c5ecbfd05',
    'report.html': 'ca4aa1eb2f093e6105d8489cdf392868c240cb8e6d4fcfede9dc838c05c34f98',
    'manifest.json': '3498dba6b5ce17d269f2d821e82093f47eda0a3e1a64196540762af8f34ec4f0',
    'restated restatement.json': 'a0b77ddfe2c1a9c42cb66c8e802b0d43641735f53cd97eba7383e2997a87a632',
    'restated manifest.json': '22d44a7ba943ca0c3778b60ed38b68bc545cd87c9651776689a9d74e43284def',
  },
  medium: {
    'report.json': '30227079a1c2a10df76f5f366f377f81e2d98fdd6f3da8a7934937073b8cc7c1',
    'findings.jsonl': 'e153ab43950e8ea9a695b383e0cdaf49778407ed5588664321fd0493955bdd5d',
    'usage.jsonl': 'ccfde3591fcd72b229358f6540f7787aeea922f1d3c8b424a146720171a0c9de',
    'findings.csv': '914fd316ea7b542158c76d1e1a95f33cf1b394aa40dbeb507f7bce3d1ac2fb91',
    'report.html': '427178977138ab8513960388da0bf957359aaecfc22010b04a5ceebf49b96cae',
    'manifest.json': 'f45722d352d41132a4d415c2eda61d1d4182914a1ff07203b8ad3c99bacce34c',
    'restated restatement.json': 'a0b77ddfe2c1a9c42cb66c8e802b0d43641735f53cd97eba7383e2997a87a632',
    'restated manifest.json': '1e8e395b4d9d7d94d5b70d0b9ae3af8b52d88e7d3e36c9097094c93df6554a4b',
  },
  large: {
    'report.json': '5e02b1be0d009ce898813b681bf94147de110463eba00af1babba9ecb04b4c49',
    'findings.jsonl': '2dd730c3e30b366cf0aefa1fcf5488215bd1b0d0962a22d2f354968a7e851240',
    'usage.jsonl': '0f786b13f58e5ec13a3a860f50f69abfffd25efbc7f362144c90d8824e3f832a',
    'findings.csv': '62d6c866d2f558232c30fe9a7d05078ced1fe9ea9ef489705aa0fb593a3e0d1d',
    'report.html': '2f55d172170fa74c049c6660b1da9677afb3a9b101daaa4cc239e45133cf2c9a',
    'manifest.json': 'dd54c5f70c38645dcbcc68f6349fc2d679be108d3e258b424b048eb37b8a2aa6',
    'restated restatement.json': 'a0b77ddfe2c1a9c42cb66c8e802b0d43641735f53cd97eba7383e2997a87a632',
    'restated manifest.json': '8fd811a7f04aa09d8db56b475b6ca3d4b7b008709abbff212c5f78ba67c470a8',
  },
};

describe('report file bytes', () => {
  for (const name of Object.keys(INPUTS)) {
    it(`are unchanged, whole or streamed: ${name}`, async () => {
      const input = (INPUTS[name] as () => ReportInput)();
      expect(hashes(input)).toEqual(GOLDEN[name]);
      expect(await streamedHashes(input)).toEqual(GOLDEN[name]);
    });
  }
});
