/**
 * One Lambda function of the system, with what every function here gets: its own role (no AWS
 * managed policy: AWSLambdaBasicExecutionRole would allow writing to any log group), its own log
 * group with a retention, an esbuild ESM bundle, Node.js on arm64. Permissions are added by the
 * construct that wires the function to a resource, through `allow`, one scoped statement each.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Check, ensureProps, integer } from './checks.ts';
import { transparent } from './logical-ids.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * ESM bundles for Node 22 on Graviton. The banner gives CommonJS dependencies bundled into the
 * ESM output a working `require` for Node built-ins. The AWS SDK is bundled too, so the code that
 * runs is the code that was tested, not whatever SDK version the runtime ships.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  bundleAwsSDK: true,
  externalModules: [],
  forceDockerBundling: false,
  logLevel: nodejs.LogLevel.WARNING,
};

const LOG_RETENTION_VALUES = Object.values(logs.RetentionDays).filter(
  (v): v is number => typeof v === 'number',
);

/** The rules for the function's sizing props, also applied to the context keys that feed them. */
export const FUNCTION_CHECKS = {
  memorySizeMb: integer(128, 10240),
  timeoutSeconds: integer(1, 900),
  logRetentionDays: (v) =>
    LOG_RETENTION_VALUES.includes(v) ? undefined : `expected one of ${LOG_RETENTION_VALUES.join(', ')}`,
} satisfies Record<string, Check<number>>;

export interface LambdaFunctionProps {
  /** The handler module (it exports `handler`), relative to `projectRoot`. */
  readonly entry: string;
  /**
   * Folder holding package-lock.json and the handler modules.
   * @default the repository root
   */
  readonly projectRoot?: string;
  /** The function's description. */
  readonly description: string;
  /** Memory, MB (128–10240). Lambda scales CPU with memory. */
  readonly memorySizeMb: number;
  /** Timeout, seconds (1–900). */
  readonly timeoutSeconds: number;
  /** Retention of the function's log group, days: a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, …). */
  readonly logRetentionDays: number;
  /**
   * Environment variables.
   * @default none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * @default lambda.Runtime.NODEJS_22_X (the code runs on Node 20 and 22; see the cdk-nag L1 note)
   */
  readonly runtime?: lambda.Runtime;
  /**
   * @default lambda.Architecture.ARM_64 (Graviton)
   */
  readonly architecture?: lambda.Architecture;
  /**
   * esbuild options.
   * @default BUNDLING (minified ESM with source maps, AWS SDK bundled)
   */
  readonly bundling?: nodejs.BundlingOptions;
}

/** The objects under one key prefix of one bucket: an ARN ending in `<prefix>*`. */
export interface ObjectsUnder {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
}

export const objectsUnder = (bucket: s3.IBucket, prefix: string): ObjectsUnder => ({ bucket, prefix });

/** What one grant names: a bucket itself, a table, a queue, or the objects under a prefix of a bucket. */
export type GrantTarget = s3.IBucket | dynamodb.ITable | sqs.IQueue | ObjectsUnder;

const OBJECT_WILDCARD_REASON =
  'Object ARNs end in a key wildcard under one fixed prefix of one bucket (S3 object permissions cannot name keys that do not exist yet); actions are listed one by one.';

/**
 * Children keep the logical ids they had before this construct existed: IngestFunction/Role is
 * IngestFunctionRole, IngestFunction/Logs is IngestFunctionLogs, the function itself IngestFunction.
 */
export class LambdaFunction extends Construct {
  /** The execution role: trusts Lambda only; holds the log-group grant and whatever `allow` adds. */
  public readonly role: iam.Role;
  /** The function's own log group. */
  public readonly logGroup: logs.LogGroup;
  /** The function. */
  public readonly lambdaFunction: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: LambdaFunctionProps) {
    super(scope, id);
    ensureProps(`LambdaFunction ${id}`, props, {
      ...FUNCTION_CHECKS,
      entry: (v) => (v.trim() === '' ? 'expected a module path' : undefined),
    });
    transparent(this, { merge: true });
    const root = props.projectRoot ?? REPO_ROOT;
    if (!existsSync(path.join(root, props.entry))) {
      throw new Error(`LambdaFunction ${id}: entry: no such file under ${root} (got "${props.entry}")`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${id}: least privilege, see infra/constructs/`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
    });
    this.logGroup.grantWrite(this.role);
    const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
    this.lambdaFunction = new nodejs.NodejsFunction(this, 'Default', {
      entry: path.join(root, props.entry),
      handler: 'handler',
      projectRoot: root,
      depsLockFilePath: path.join(root, 'package-lock.json'),
      runtime,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySizeMb,
      timeout: Duration.seconds(props.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      description: props.description,
      environment: { ...props.environment },
      bundling: props.bundling ?? BUNDLING,
    });
    if (runtime === lambda.Runtime.NODEJS_22_X) {
      Validations.of(this.lambdaFunction).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x on purpose: the function code must run on Node 20 and 22 (engines >=20.6, tested on both); nodejs24.x is not a supported target yet.',
      });
    }
  }

  /**
   * Allows exactly `actions` on exactly `target`, as one statement named `sid`. Wildcard actions
   * are refused. For objects under a prefix, cdk-nag's IAM5 finding for exactly that ARN is
   * acknowledged (the finding id names the bucket and prefix), so any other wildcard still fails.
   */
  allow(
    sid: string,
    actions: readonly string[],
    target: GrantTarget,
    conditions?: Record<string, Record<string, unknown>>,
  ): void {
    const bad = actions.find((a) => a.includes('*') || !/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(a));
    if (actions.length === 0 || bad !== undefined) {
      throw new Error(`${this.node.id}.allow ${sid}: actions: expected named actions, got ${bad ?? 'none'}`);
    }
    const resource =
      'tableArn' in target
        ? target.tableArn
        : 'bucketArn' in target
          ? target.bucketArn
          : 'queueArn' in target
            ? target.queueArn
            : target.bucket.arnForObjects(`${target.prefix}*`);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: [...actions],
        resources: [resource],
        ...(conditions ? { conditions } : {}),
      }),
    );
    if ('prefix' in target) this.acknowledgeObjectWildcard(target);
  }

  private acknowledgeObjectWildcard({ bucket, prefix }: ObjectsUnder): void {
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    const cfnBucket = bucket.node.defaultChild as CfnElement | undefined;
    if (!policy || !cfnBucket) throw new Error(`${this.node.path}: cannot scope the IAM5 acknowledgment`);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(cfnBucket)}.Arn>/${prefix}*]`,
      reason: OBJECT_WILDCARD_REASON,
    });
  }
}
