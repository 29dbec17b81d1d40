/**
 * In-memory stand-ins for the audit use cases' ports (functions/audit/ports.ts), typed by the
 * interfaces themselves: no casts. Each keeps what it was asked to do, for the tests to look at.
 */
import { createHash } from 'node:crypto';
import type {
  AgreementStore,
  AuditLeases,
  ChainAnchors,
  ForcedRegistryLoad,
  LeaseHolder,
  RegistryStore,
  ReportFileBody,
  ReportFiles,
  ReportLog,
  TermsWriter,
  UsageReader,
} from '../../functions/audit/ports.ts';
import type { Agreement } from '../../functions/core/audit/agreements.ts';
import {
  type AgreementVersion,
  agreementHash,
  type RegistryVersion,
  registryHash,
} from '../../functions/core/audit/terms.ts';
import type { ObjectManifest, UsageRow } from '../../functions/core/ledger.ts';
import { compareStrings } from '../../functions/core/support.ts';
import type { RecipientsRegistry } from '../../functions/core/types.ts';
import type { ListedObject, OpenedObject } from '../../functions/ingest/ports.ts';

/** Committed usage, one row per app, day and log object (as the usage store answers perSource). */
export class FakeUsage implements UsageReader {
  rows: UsageRow[] = [];
  manifests = new Map<string, ObjectManifest>();
  /** Problem objects by key, with the day they were processed. */
  dataQuality = new Map<string, string>();
  /** Day → when its usage last changed. */
  changed = new Map<string, string>();

  async queryUsage(opts: { from: string; to: string; apps?: readonly string[] }): Promise<UsageRow[]> {
    return this.rows
      .filter((r) => r.day >= opts.from && r.day <= opts.to && (!opts.apps || opts.apps.includes(r.app)))
      .sort(
        (a, b) =>
          compareStrings(a.app, b.app) ||
          compareStrings(a.day, b.day) ||
          compareStrings(a.sources[0]?.key ?? '', b.sources[0]?.key ?? ''),
      );
  }

  async dataQualityKeys(from: string, to: string): Promise<string[]> {
    return [...this.dataQuality].filter(([, day]) => day >= from && day <= to).map(([key]) => key);
  }

  async getManifests(keys: readonly string[]): Promise<ObjectManifest[]> {
    return [...new Set(keys)]
      .flatMap((k) => this.manifests.get(k) ?? [])
      .sort((a, b) => compareStrings(a.key, b.key));
  }

  async changedDays(from: string, to: string): Promise<Map<string, string>> {
    return new Map([...this.changed].filter(([day]) => day >= from && day <= to));
  }
}

/** Agreements, the registry, the report log, the chain's anchors and the leases of the control table. */
export class FakeControl
  implements AgreementStore, RegistryStore, ReportLog, ChainAnchors, AuditLeases, TermsWriter
{
  /** The appended terms versions, in the order written (as the control table's version items). */
  agreementVersionItems: AgreementVersion[] = [];
  registryVersionItems: RegistryVersion[] = [];

  /** As the adapter: a licensee with an agreement item and no version reads as seq 0, from the beginning. */
  async agreementVersions(): Promise<AgreementVersion[]> {
    const versioned = new Set(this.agreementVersionItems.map((v) => v.licensee));
    const legacy = [...this.agreements.values()]
      .filter((a) => !versioned.has(a.licensee))
      .map(
        (agreement): AgreementVersion => ({
          seq: 0,
          effective_from: null,
          note: null,
          by: null,
          at: null,
          hash: agreementHash(agreement),
          licensee: agreement.licensee,
          agreement,
        }),
      );
    return [...this.agreementVersionItems, ...legacy];
  }

  async registryVersions(): Promise<RegistryVersion[]> {
    if (this.registryVersionItems.length > 0 || this.registry === undefined)
      return [...this.registryVersionItems];
    const registry = this.registry;
    return [
      {
        seq: 0,
        effective_from: null,
        note: null,
        by: null,
        at: null,
        hash: registryHash(registry),
        registry,
      },
    ];
  }

  async appendAgreementVersion(v: AgreementVersion): Promise<boolean> {
    if (this.agreementVersionItems.some((x) => x.licensee === v.licensee && x.seq === v.seq)) return false;
    this.agreementVersionItems.push(v);
    return true;
  }

  async appendRegistryVersion(v: RegistryVersion): Promise<boolean> {
    if (this.registryVersionItems.some((x) => x.seq === v.seq)) return false;
    this.registryVersionItems.push(v);
    return true;
  }

  /** Lease items by name, as the conditional puts leave them (released: expiresAt 0). */
  leases = new Map<string, LeaseHolder>();
  /** Every lease call, as `acquire <name>` / `held <name>` / `release <name>`, in order. */
  leaseLog: string[] = [];

  async acquireLease(
    name: string,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<LeaseHolder | undefined> {
    const held = this.leases.get(name);
    if (held && held.expiresAt >= now && held.owner !== owner) {
      this.leaseLog.push(`held ${name}`);
      return { ...held };
    }
    this.leases.set(name, { owner, expiresAt });
    this.leaseLog.push(`acquire ${name}`);
    return undefined;
  }

  async leaseOf(name: string): Promise<LeaseHolder | undefined> {
    const held = this.leases.get(name);
    return held ? { ...held } : undefined;
  }

  /** Pending evidence writes by date: file name → sha256s (cleared = superseded by settlePending). */
  pending = new Map<string, Map<string, Set<string>>>();
  /** Every pendingEvidence call, as `<date>/<name>`, in order. */
  pendingLog: string[] = [];

  async pendingEvidence(date: string, name: string, sha256: string): Promise<void> {
    this.pendingLog.push(`${date}/${name}`);
    const ofDate = this.pending.get(date) ?? new Map<string, Set<string>>();
    this.pending.set(date, ofDate.set(name, (ofDate.get(name) ?? new Set()).add(sha256)));
  }

  async pendingOf(date: string): Promise<Map<string, Set<string>>> {
    return new Map([...(this.pending.get(date) ?? [])].map(([n, s]) => [n, new Set(s)]));
  }

  async settlePending(date: string): Promise<void> {
    this.pending.delete(date);
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.leases.get(name)?.owner !== owner) return;
    this.leases.set(name, { owner, expiresAt: 0 });
    this.leaseLog.push(`release ${name}`);
  }

  agreements = new Map<string, Agreement>();
  /** The stored registry; undefined until one is loaded. */
  registry: RecipientsRegistry | undefined;
  /** Every registry put, in order. */
  registryPuts: RecipientsRegistry[] = [];
  /** The forced-load records, append-only, in the order written. */
  forcedLoads: ForcedRegistryLoad[] = [];
  /** Date → when its report was last checked, and the content hash recorded with it. */
  reports = new Map<string, { writtenAt: string; contentSha256: string }>();
  /** The chain's anchor items, append-only, in the order written. */
  chain: { date: string; seq: number; manifestSha256: string; writtenAt: string; contentSha256?: string }[] =
    [];

  async anchorManifest(
    date: string,
    manifestSha256: string,
    writtenAt: string,
    contentSha256?: string,
  ): Promise<void> {
    const mine = this.chain.filter((a) => a.date === date);
    if (mine.at(-1)?.manifestSha256 === manifestSha256) return;
    this.chain.push({
      date,
      seq: mine.length + 1,
      manifestSha256,
      writtenAt,
      ...(contentSha256 ? { contentSha256 } : {}),
    });
  }

  async anchorContents(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const a of this.chain)
      if (a.contentSha256) out.set(a.date, [...(out.get(a.date) ?? []), a.contentSha256]);
    return out;
  }

  async anchors(): Promise<Map<string, string>> {
    return new Map(this.chain.map((a) => [a.date, a.manifestSha256]));
  }

  async listAgreements(): Promise<Agreement[]> {
    return [...this.agreements.values()];
  }

  async putRegistry(registry: RecipientsRegistry): Promise<void> {
    this.registry = registry;
    this.registryPuts.push(registry);
  }

  async storedRegistry(): Promise<RecipientsRegistry | undefined> {
    return this.registry;
  }

  async recordForcedRegistry(load: ForcedRegistryLoad): Promise<string> {
    this.forcedLoads.push(load);
    return `hash-${this.forcedLoads.length}`;
  }

  async putAgreements(agreements: readonly Agreement[]): Promise<void> {
    for (const a of agreements) this.agreements.set(a.licensee, a);
  }

  async recordReport(date: string, writtenAt: string, contentSha256: string): Promise<void> {
    this.reports.set(date, { writtenAt, contentSha256 });
  }

  async reportTimes(from: string, to: string): Promise<Map<string, string>> {
    return new Map(
      [...this.reports]
        .filter(([date]) => date >= from && date <= to)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([date, r]) => [date, r.writtenAt]),
    );
  }
}

/** Report folders and latest.json, with a log of every put. */
export class FakeReports implements ReportFiles {
  folders = new Map<string, Map<string, string>>();
  latestText: string | undefined;
  /** Every file written, as `<date>/<name>` (and `latest.json`), in order. */
  puts: string[] = [];

  async listDates(): Promise<string[]> {
    return [...this.folders]
      .filter(([, files]) => files.has('manifest.json'))
      .map(([date]) => date)
      .sort(compareStrings);
  }

  async readFile(date: string, name: string): Promise<string | undefined> {
    return this.folders.get(date)?.get(name);
  }

  async readAll(date: string): Promise<Map<string, string>> {
    return new Map(this.folders.get(date) ?? []);
  }

  async fileHashes(date: string): Promise<Map<string, string>> {
    return new Map(
      [...(this.folders.get(date) ?? [])].map(([name, body]) => [
        name,
        createHash('sha256').update(body).digest('hex'),
      ]),
    );
  }

  async write(date: string, files: readonly ReportFileBody[]): Promise<void> {
    const folder = this.folders.get(date) ?? new Map<string, string>();
    this.folders.set(date, folder);
    for (const f of files) {
      let body = '';
      if (typeof f.body === 'string') body = f.body;
      else for await (const chunk of f.body) body += chunk;
      folder.set(f.name, body);
      this.puts.push(`${date}/${f.name}`);
    }
  }

  async remove(date: string, names: readonly string[]): Promise<void> {
    for (const name of names) this.folders.get(date)?.delete(name);
  }

  async latest(): Promise<string | undefined> {
    if (this.latestText === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(this.latestText);
      if (typeof parsed !== 'object' || parsed === null || !('report_date' in parsed)) return undefined;
      const date = parsed.report_date;
      return typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined;
    } catch {
      return undefined;
    }
  }

  async setLatest(date: string): Promise<void> {
    this.latestText = `${JSON.stringify({ report_date: date })}\n`;
    this.puts.push('latest.json');
  }

  /** Every stored file, `<date>/<name>` → body (for byte-for-byte comparisons). */
  snapshot(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [date, files] of this.folders)
      for (const [name, body] of files) out.set(`${date}/${name}`, body);
    return out;
  }
}

/**
 * A versioned bucket in memory (s3rver does not version): each put makes a new version with its
 * own version id, ETag and LastModified (one second apart), for the ingest ports ObjectReader and
 * ObjectLister. `failAfterChunks` makes the next open of a key fail mid-stream.
 */
export class FakeVersionedBucket {
  private versions = new Map<
    string,
    { versionId: string; etag: string; body: Buffer; lastModified: Date }[]
  >();
  private clock = Date.parse('2026-11-27T00:00:00Z');
  private counter = 0;
  /** Key → how many 1 KiB chunks the next open delivers before its body throws. */
  failAfterChunks = new Map<string, number>();
  opens: string[] = [];

  put(key: string, text: string): { versionId: string; etag: string; lastModified: Date } {
    const body = Buffer.from(text);
    this.clock += 1000;
    const v = {
      versionId: `v${String(++this.counter).padStart(4, '0')}`,
      etag: createHash('md5').update(body).digest('hex'),
      body,
      lastModified: new Date(this.clock),
    };
    const list = this.versions.get(key) ?? [];
    list.push(v);
    this.versions.set(key, list);
    return v;
  }

  async open(_bucket: string, key: string, versionId?: string): Promise<OpenedObject | undefined> {
    const list = this.versions.get(key) ?? [];
    const v = versionId === undefined ? list.at(-1) : list.find((x) => x.versionId === versionId);
    this.opens.push(`${key}@${versionId ?? 'current'}`);
    if (!v) return undefined;
    const failAt = this.failAfterChunks.get(key);
    this.failAfterChunks.delete(key);
    const body = v.body;
    return {
      body: {
        async *[Symbol.asyncIterator]() {
          for (let i = 0, n = 0; i < body.length; i += 1024, n++) {
            if (failAt !== undefined && n >= failAt) throw new Error('injected: connection reset mid-stream');
            await Promise.resolve();
            yield body.subarray(i, i + 1024);
          }
        },
      },
      etag: v.etag,
      versionId: v.versionId,
      lastModified: v.lastModified,
      size: body.length,
      abort: () => undefined,
    };
  }

  async *listObjects(_bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    for (const [key, list] of [...this.versions].sort(([a], [b]) => compareStrings(a, b))) {
      const v = list.at(-1);
      if (v && key.startsWith(prefix) && (startAfter === undefined || compareStrings(key, startAfter) > 0))
        yield { key, etag: v.etag, lastModified: v.lastModified, size: v.body.length };
    }
  }
}
