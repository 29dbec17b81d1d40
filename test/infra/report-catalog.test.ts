import { describe, expect, it } from 'vitest';
import { ANALYTICS } from '../../functions/shared/resources.ts';
import {
  FINDINGS_VIEW,
  ReportCatalog,
  type ReportCatalogProps,
  USAGE_VIEW,
  viewSql,
} from '../../infra/constructs/report-catalog.ts';
import { fixture, mainIds, ref, resourcesOfType, synth } from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

describe('Glue and Athena', () => {
  const glueTable = (name: string): Json => {
    const match = Object.values(resourcesOfType(t, 'AWS::Glue::Table')).filter(
      (r) => ((r.Properties as Json).TableInput as Json).Name === name,
    );
    expect(match).toHaveLength(1);
    return (match[0] as Json).Properties as Json;
  };
  const reportsRoot = (suffix: string): Json => ({
    'Fn::Join': ['', ['s3://', ref(id.reportsBucket as string), `/reports/${suffix}`]],
  });

  it('database named after the stack', () => {
    t.resourceCountIs('AWS::Glue::Database', 1);
    t.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: ref('AWS::AccountId'),
      DatabaseInput: { Name: 'usage_auditor' },
    });
  });

  it('report_lines: text lines of reports/date=…/, partition projection on date (yyyy-MM-dd, 2020-01-01..NOW)', () => {
    const p = glueTable(ANALYTICS.linesTable);
    expect(p.DatabaseName).toBe('usage_auditor');
    expect(p.TableInput).toEqual(
      expect.objectContaining({
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [expect.objectContaining({ Name: 'date', Type: 'string' })],
        Parameters: {
          EXTERNAL: 'TRUE',
          classification: 'text',
          'projection.enabled': 'true',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': '2020-01-01,NOW',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder.
          'storage.location.template': reportsRoot('date=${date}/'),
        },
        StorageDescriptor: expect.objectContaining({
          Location: reportsRoot(''),
          Columns: [expect.objectContaining({ Name: 'line', Type: 'string' })],
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            Parameters: { 'serialization.format': '1' },
          },
        }),
      }),
    );
  });

  it.each([
    [
      FINDINGS_VIEW.name,
      'findings.jsonl',
      [
        'report_date',
        'finding_id',
        'licensee',
        'rule',
        'severity',
        'metric',
        'subject',
        'period_start',
        'period_end',
        'observed',
        'limit',
        'excess',
        'amount_owed',
        'currency',
        'apps',
        'detail',
        'evidence',
        'date',
      ],
    ],
    [
      USAGE_VIEW.name,
      'usage.jsonl',
      ['licensee', 'app_id', 'usage_date', 'requests', 'records', 'bytes', 'errors', 'date'],
    ],
  ])('%s: an Athena view over report_lines restricted to %s, columns per SPEC §5', (name, file, columns) => {
    const p = glueTable(name);
    const input = p.TableInput as {
      TableType: string;
      Parameters: Json;
      ViewOriginalText: string;
      ViewExpandedText: string;
      StorageDescriptor: { Columns: Array<{ Name: string; Type: string }> };
    };
    expect(input.TableType).toBe('VIRTUAL_VIEW');
    expect(input.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
    expect(input.ViewExpandedText).toBe('/* Presto View */');
    expect(input.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(columns);
    const m = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(input.ViewOriginalText);
    expect(m).not.toBeNull();
    const view = JSON.parse(Buffer.from(m?.[1] as string, 'base64').toString('utf8')) as {
      originalSql: string;
      catalog: string;
      schema: string;
      columns: Array<{ name: string; type: string }>;
    };
    expect(view.catalog).toBe('awsdatacatalog');
    expect(view.schema).toBe('usage_auditor');
    expect(view.originalSql).toContain('FROM "usage_auditor"."report_lines"');
    expect(view.originalSql).toContain(`WHERE "$path" LIKE '%/${file}'`);
    expect(view.columns.map((c) => c.name)).toEqual(columns);
    // Hive and Presto types describe the same column.
    const hiveToPresto = (h: string): string =>
      h
        .replace(/struct<([^>]*)>/g, (_, f: string) => `row(${f.replace(/:/g, ' ')})`)
        .replace(/array<(.*)>/, 'array($1)')
        .replace(/\bstring\b/g, 'varchar');
    expect(view.columns.map((c) => c.type)).toEqual(
      input.StorageDescriptor.Columns.map((c) => hiveToPresto(c.Type)),
    );
    expect(view.columns.find((c) => c.name === 'date')?.type).toBe('varchar');
  });

  it('findings view types: counts are bigint, amount_owed double, apps array of rows', () => {
    const types = Object.fromEntries(FINDINGS_VIEW.columns.map((c) => [c.name, c.prestoType]));
    expect(types).toMatchObject({
      observed: 'bigint',
      limit: 'bigint',
      excess: 'bigint',
      amount_owed: 'double',
      apps: 'array(row(app_id varchar,value bigint,share double))',
      evidence: 'varchar',
    });
    expect(Object.fromEntries(USAGE_VIEW.columns.map((c) => [c.name, c.prestoType]))).toMatchObject({
      requests: 'bigint',
      records: 'bigint',
      bytes: 'bigint',
      errors: 'bigint',
      usage_date: 'varchar',
    });
    expect(viewSql('db', USAGE_VIEW)).toContain(`json_extract_scalar(line, '$.usage_date') AS "usage_date"`);
  });

  it('workgroup: enforced configuration, results in the results bucket (SSE-S3), engine 3, scan limit', () => {
    t.resourceCountIs('AWS::Athena::WorkGroup', 1);
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'UsageAuditor',
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', ref(id.resultsBucket as string), '/results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          ExpectedBucketOwner: ref('AWS::AccountId'),
        },
      },
    });
  });

  it('saved queries in the workgroup rebuild the views and show the latest findings', () => {
    const queries = Object.values(resourcesOfType(t, 'AWS::Athena::NamedQuery')).map(
      (q) => q.Properties as Json,
    );
    expect(queries.map((q) => q.Name).sort()).toEqual([
      'latest-findings',
      'recreate-findings-view',
      'recreate-usage-view',
    ]);
    for (const q of queries) {
      expect(q).toMatchObject({ Database: 'usage_auditor', WorkGroup: 'UsageAuditor' });
    }
    const recreate = queries.find((q) => q.Name === 'recreate-findings-view') as Json;
    expect(recreate.QueryString).toBe(
      `CREATE OR REPLACE VIEW "findings" AS\n${viewSql('usage_auditor', FINDINGS_VIEW)}`,
    );
  });

  it('database and workgroup names follow context', () => {
    const v = synth({ context: { glueDatabaseName: 'audit_prod', athenaWorkgroupName: 'audit-prod' } });
    v.template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'audit_prod' } });
    v.template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'audit-prod' });
    v.template.hasOutput('GlueDatabase', { Value: 'audit_prod' });
    v.template.hasOutput('AthenaWorkgroup', { Value: 'audit-prod' });
  });
});

describe('ReportCatalog props', () => {
  const build = (props: Partial<ReportCatalogProps> = {}): ReportCatalog => {
    const { stack, storage } = fixture();
    return new ReportCatalog(stack, 'Reports', {
      reportsBucket: storage.reportsBucket,
      resultsBucket: storage.athenaResultsBucket,
      databaseName: 'audit_test',
      workgroupName: 'audit-test',
      projectionStart: '2024-01-01',
      bytesScannedCutoffPerQuery: 10_000_000,
      ...props,
    });
  };

  it('builds with valid props and exposes every resource it creates', () => {
    const catalog = build();
    expect(Object.keys(catalog.views).sort()).toEqual([FINDINGS_VIEW.name, USAGE_VIEW.name].sort());
    expect(Object.keys(catalog.queries).sort()).toEqual([
      'LatestFindings',
      'RecreateFindingsView',
      'RecreateUsageView',
    ]);
    expect(catalog.databaseName).toBe('audit_test');
  });

  it.each([
    [{ databaseName: 'Has-Dashes' }, /^ReportCatalog: databaseName: expected lower-case letters/],
    [{ workgroupName: 'has spaces' }, /^ReportCatalog: workgroupName: expected letters, digits/],
    [{ projectionStart: '2020-13-45' }, /^ReportCatalog: projectionStart: expected a date YYYY-MM-DD/],
    [
      { bytesScannedCutoffPerQuery: 1024 },
      /^ReportCatalog: bytesScannedCutoffPerQuery: expected an integer from 10000000/,
    ],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
