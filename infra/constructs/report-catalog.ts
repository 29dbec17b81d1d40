/**
 * Glue database, tables and Athena workgroup over the reports bucket (SPEC §5).
 *
 * ## Why a raw table plus two views, and not two plain tables
 *
 * SPEC §5 fixes the layout: one folder per report date holding report.json, findings.jsonl,
 * usage.jsonl, findings.csv, report.html and manifest.json side by side. Athena reads every object
 * under a table's (or partition's) location and cannot be told to read only one file name:
 *   - the Athena guide ("Specify a table location in Amazon S3") says LOCATION must be a folder,
 *     "Athena reads all data stored in the Amazon S3 folder that you specify", and lists
 *     `s3://bucket/prefix/filename.csv` under "do not use"; the same holds for the
 *     `storage.location.template` of partition projection, which yields partition locations;
 *   - no SerDe filters by file name; a JSON SerDe with `ignore.malformed.json` would still turn
 *     usage.jsonl lines (valid JSON) into bogus findings rows, and a type clash in report.json or the
 *     JSON embedded in report.html would fail the query;
 *   - SymlinkTextInputFormat tables would work, but need pointer files that the audit writer would
 *     have to write under another prefix, i.e. a change to the §5 layout.
 * What Athena does offer is the hidden `"$path"` column, which views may use (the Athena guide lists
 * the hidden columns views cannot use; `$path` is not among them). So:
 *   - `report_lines`: one string column `line` (LazySimpleSerDe, default \u0001 field delimiter,
 *     which never occurs in JSON text: control characters must be escaped there), partitioned by
 *     `date` with partition projection over reports/date=yyyy-MM-dd/. Reading a line as text never
 *     fails, whatever file it comes from.
 *   - `findings` and `usage`: Athena views over report_lines that keep only the rows whose "$path"
 *     ends in /findings.jsonl (resp. /usage.jsonl) and parse the JSON with json_extract functions.
 *     `SELECT … FROM findings WHERE "date" = '2024-05-31'` prunes to one folder (the view is inlined,
 *     so the predicate reaches the projected partition column).
 * The views are Glue tables of type VIRTUAL_VIEW in the form Athena itself writes for CREATE VIEW
 * (`presto_view` parameter, base64 "Presto View" JSON in ViewOriginalText). That encoding is stable
 * and widely used (e.g. iconara/terraform-aws-athena-view) but not formally documented, so the
 * workgroup also carries saved queries with the equivalent `CREATE OR REPLACE VIEW` statements: if
 * Athena ever reports a view as stale, running them rebuilds the views from Athena itself.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ANALYTICS, REPORTS_PREFIX } from '../../functions/shared/resources.ts';
import { type Check, ensureProps, integer, isoDate, matching } from './checks.ts';

/** A view column: Hive type for the Glue schema, Presto/Trino type for the view definition. */
export interface ViewColumn {
  name: string;
  hiveType: string;
  prestoType: string;
  /** SQL expression over `line` (and `"date"`) producing the column. */
  expr: string;
  comment?: string;
}

export interface ViewDefinition {
  name: string;
  description: string;
  /** File name inside reports/date=…/ the view reads. */
  file: string;
  columns: ViewColumn[];
}

const str = (field: string): string => `json_extract_scalar(line, '$.${field}')`;
const big = (field: string): string => `CAST(${str(field)} AS bigint)`;
/** A JSON string as itself, anything else (array, object) as its JSON text. */
const text = (field: string): string =>
  `COALESCE(${str(field)}, json_format(json_extract(line, '$.${field}')))`;

const varchar = (name: string, expr: string, comment?: string): ViewColumn => ({
  name,
  hiveType: 'string',
  prestoType: 'varchar',
  expr,
  ...(comment ? { comment } : {}),
});
const bigint = (name: string, expr: string, comment?: string): ViewColumn => ({
  name,
  hiveType: 'bigint',
  prestoType: 'bigint',
  expr,
  ...(comment ? { comment } : {}),
});

/** The report date of the folder a row came from (partition column of report_lines). */
const DATE_COLUMN = varchar('date', '"date"', 'report date D: the reports/date=… folder');

/** Columns of findings.jsonl (SPEC §5). */
export const FINDINGS_VIEW: ViewDefinition = {
  name: ANALYTICS.findingsTable,
  description: 'One row per finding: the findings.jsonl files under reports/date=…/ (SPEC §5).',
  file: 'findings.jsonl',
  columns: [
    varchar('report_date', str('report_date')),
    varchar('finding_id', str('finding_id')),
    varchar('licensee', str('licensee'), 'null for unknown_app'),
    varchar('rule', str('rule')),
    varchar('severity', str('severity')),
    varchar('metric', str('metric')),
    varchar('subject', str('subject'), 'the category, app id or endpoint the finding is about, if any'),
    varchar('period_start', str('period_start')),
    varchar('period_end', str('period_end')),
    bigint('observed', big('observed')),
    bigint('limit', big('limit')),
    bigint('excess', big('excess')),
    {
      name: 'amount_owed',
      hiveType: 'double',
      prestoType: 'double',
      expr: `CAST(${str('amount_owed')} AS double)`,
    },
    varchar('currency', str('currency')),
    {
      name: 'apps',
      hiveType: 'array<struct<app_id:string,value:bigint,share:double>>',
      prestoType: 'array(row(app_id varchar,value bigint,share double))',
      expr: `CAST(json_extract(line, '$.apps') AS array(row(app_id varchar, value bigint, share double)))`,
      comment: 'apps behind the finding with their share; use CROSS JOIN UNNEST(apps)',
    },
    varchar('detail', text('detail')),
    varchar('evidence', text('evidence'), 'JSON text: the log objects (key, version) behind the numbers'),
    DATE_COLUMN,
  ],
};

/** Columns of usage.jsonl (SPEC §5); the usage day is `usage_date` to keep `date` for the folder. */
export const USAGE_VIEW: ViewDefinition = {
  name: ANALYTICS.usageTable,
  description: 'One row per licensee, app and usage day of the window: the usage.jsonl files (SPEC §5).',
  file: 'usage.jsonl',
  columns: [
    varchar('licensee', str('licensee')),
    varchar('app_id', str('app_id')),
    varchar('usage_date', str('usage_date'), 'usage day (UTC), YYYY-MM-DD'),
    bigint('requests', big('requests')),
    bigint('records', big('records')),
    bigint('bytes', big('bytes')),
    bigint('errors', big('errors')),
    DATE_COLUMN,
  ],
};

/** The SELECT behind a view (also the body of its saved CREATE OR REPLACE VIEW). */
export function viewSql(database: string, view: ViewDefinition): string {
  const cols = view.columns.map((c) => `  ${c.expr} AS "${c.name}"`).join(',\n');
  return [
    'SELECT',
    cols,
    `FROM "${database}"."${ANALYTICS.linesTable}"`,
    `WHERE "$path" LIKE '%/${view.file}' AND length(trim(line)) > 0`,
  ].join('\n');
}

/** ViewOriginalText in the form Athena writes for its own views. */
export function prestoViewText(database: string, view: ViewDefinition): string {
  const json = JSON.stringify({
    originalSql: viewSql(database, view),
    catalog: 'awsdatacatalog',
    schema: database,
    columns: view.columns.map((c) => ({ name: c.name, type: c.prestoType })),
  });
  return `/* Presto View: ${Buffer.from(json, 'utf8').toString('base64')} */`;
}

/** The rules for the catalog props, also applied to the context keys that feed them. */
export const CATALOG_CHECKS = {
  databaseName: matching(/^[a-z0-9_]{1,255}$/, 'lower-case letters, digits and underscores'),
  workgroupName: matching(/^[a-zA-Z0-9._-]{1,128}$/, 'letters, digits, . _ -'),
  projectionStart: isoDate,
  /** Athena's minimum is 10 MB. */
  bytesScannedCutoffPerQuery: integer(10_000_000, Number.MAX_SAFE_INTEGER),
} satisfies Record<string, Check<never>>;

export interface ReportCatalogProps {
  /** The bucket holding reports/date=…/ (SPEC §5). */
  readonly reportsBucket: s3.IBucket;
  /** Where the workgroup writes query results (under results/). */
  readonly resultsBucket: s3.IBucket;
  /** Glue database of the table and views. */
  readonly databaseName: string;
  /** Athena workgroup. */
  readonly workgroupName: string;
  /** First date partition projection enumerates (yyyy-MM-dd). */
  readonly projectionStart: string;
  /** Per-query scan limit of the workgroup, bytes (at least 10 MB). */
  readonly bytesScannedCutoffPerQuery: number;
}

export class ReportCatalog extends Construct {
  /** The Glue database. */
  public readonly database: glue.CfnDatabase;
  /** report_lines: every line of every report file, partitioned by date. */
  public readonly linesTable: glue.CfnTable;
  /** The findings and usage views, by name. */
  public readonly views: Readonly<Record<string, glue.CfnTable>>;
  /** The workgroup (results location, engine and encryption enforced). */
  public readonly workgroup: athena.CfnWorkGroup;
  /** The saved queries in the workgroup, by id. */
  public readonly queries: Readonly<Record<string, athena.CfnNamedQuery>>;
  public readonly databaseName: string;
  public readonly workgroupName: string;

  constructor(scope: Construct, id: string, props: ReportCatalogProps) {
    super(scope, id);
    ensureProps('ReportCatalog', props, CATALOG_CHECKS);
    const { reportsBucket, resultsBucket, databaseName } = props;
    this.databaseName = databaseName;
    this.workgroupName = props.workgroupName;
    const catalogId = Aws.ACCOUNT_ID;
    const reportsRoot = `s3://${reportsBucket.bucketName}/${REPORTS_PREFIX}`;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: {
        name: databaseName,
        description: `usage-auditor compliance reports (${Stack.of(this).stackName})`,
      },
    });

    this.linesTable = new glue.CfnTable(this, 'ReportLines', {
      catalogId,
      databaseName,
      tableInput: {
        name: ANALYTICS.linesTable,
        description:
          'Every line of every file under reports/date=…/, as text. Query the findings and usage views instead.',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'text',
          'projection.enabled': 'true',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': `${props.projectionStart},NOW`,
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'storage.location.template': `${reportsRoot}date=\${date}/`,
        },
        partitionKeys: [{ name: 'date', type: 'string', comment: 'report date D (yyyy-MM-dd)' }],
        storageDescriptor: {
          location: reportsRoot,
          columns: [{ name: 'line', type: 'string', comment: 'one line of a report file' }],
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            parameters: { 'serialization.format': '1' },
          },
        },
      },
    });
    this.linesTable.addResourceDependency(this.database);

    const views: Record<string, glue.CfnTable> = {};
    for (const view of [FINDINGS_VIEW, USAGE_VIEW]) {
      const table = new glue.CfnTable(this, `${view.name[0]?.toUpperCase()}${view.name.slice(1)}View`, {
        catalogId,
        databaseName,
        tableInput: {
          name: view.name,
          description: view.description,
          tableType: 'VIRTUAL_VIEW',
          parameters: { presto_view: 'true', comment: 'Presto View' },
          viewOriginalText: prestoViewText(databaseName, view),
          viewExpandedText: '/* Presto View */',
          partitionKeys: [],
          storageDescriptor: {
            columns: view.columns.map((c) => ({
              name: c.name,
              type: c.hiveType,
              ...(c.comment ? { comment: c.comment } : {}),
            })),
            serdeInfo: {},
          },
        },
      });
      table.addResourceDependency(this.linesTable);
      views[view.name] = table;
    }
    this.views = views;

    this.workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: props.workgroupName,
      description: 'usage-auditor: queries over the compliance reports',
      state: 'ENABLED',
      // Lets CloudFormation delete the workgroup although it holds saved queries and history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });

    const saved: Array<[string, string, string]> = [
      [
        'RecreateFindingsView',
        'recreate-findings-view',
        `CREATE OR REPLACE VIEW "${FINDINGS_VIEW.name}" AS\n${viewSql(databaseName, FINDINGS_VIEW)}`,
      ],
      [
        'RecreateUsageView',
        'recreate-usage-view',
        `CREATE OR REPLACE VIEW "${USAGE_VIEW.name}" AS\n${viewSql(databaseName, USAGE_VIEW)}`,
      ],
      [
        'LatestFindings',
        'latest-findings',
        [
          'SELECT "date", licensee, rule, severity, metric, observed, "limit", excess, amount_owed, currency',
          `FROM "${databaseName}"."${FINDINGS_VIEW.name}"`,
          `WHERE "date" = (SELECT max("date") FROM "${databaseName}"."${FINDINGS_VIEW.name}" WHERE "date" >= cast(current_date - interval '40' day AS varchar))`,
          "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, licensee, rule",
        ].join('\n'),
      ],
    ];
    const queries: Record<string, athena.CfnNamedQuery> = {};
    for (const [queryId, name, queryString] of saved) {
      const q = new athena.CfnNamedQuery(this, queryId, {
        name,
        database: databaseName,
        workGroup: props.workgroupName,
        description: `usage-auditor: ${name}`,
        queryString,
      });
      q.addResourceDependency(this.workgroup);
      q.addResourceDependency(this.database);
      queries[queryId] = q;
    }
    this.queries = queries;
  }
}
