/**
 * The CLI against a deployed stack (`--stack NAME [--region R]`). The stack's resources come from
 * its CloudFormation outputs (output names in functions/shared/resources.ts). Reads and writes of agreements,
 * usage and reports go straight to DynamoDB and S3; `reprocess` invokes the deployed ingest function
 * (RequestResponse) and `audit` starts an execution of the audit state machine and waits for it
 * (state-machine.ts), so they run with the functions' own code, memory and permissions.
 *
 * `upload` puts the files in the log bucket; S3 → SQS → the ingest function then runs on its own.
 * The wait polls each object's manifest in the usage table until it names the uploaded version
 * (the PutObject response's VersionId, or the ETag where the bucket is not versioned), which the
 * ingest function commits as the last step of processing that version.
 *
 * The AWS calls beyond S3 and DynamoDB (reading the outputs, invoking a function, starting and
 * describing an execution) go through small interfaces so tests can stand in for them.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../adapters/dynamo-batch.ts';
import type { UsageReader } from '../audit/ports.ts';
import type { ObjectManifest } from '../core/ledger.ts';
import type { IngestResult } from '../ingest/ingest-object.ts';
import { createDynamoClient, createS3Client } from '../shared/clients.ts';
import { createStores } from '../shared/compose.ts';
import {
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  OPS_OUTPUTS,
  REPORTS_BUCKET,
  RUN_OUTPUTS,
  USAGE_TABLE,
} from '../shared/resources.ts';
import {
  generationOf,
  putLogFile,
  type Runtime,
  type UploadFile,
  type UploadReport,
  uploadReport,
} from './context.ts';
import { DEFAULT_UPLOAD_WAIT_SECONDS } from './defaults.ts';
import { CliError } from './errors.ts';
import { callerIdentity } from './identity.ts';
import { progressBar } from './output.ts';
import {
  type ProgressLine,
  runExecution,
  type StateMachinePort,
  sfnStateMachine,
  stderrProgress,
  type WaitOptions,
} from './state-machine.ts';

type Env = Record<string, string | undefined>;

export interface StackDescription {
  /** OutputKey → OutputValue. */
  outputs: Record<string, string>;
  status?: string;
}

/** Reads a stack's outputs; undefined when no stack of that name exists in the region. */
export type StackOutputsLookup = (stack: string, region: string) => Promise<StackDescription | undefined>;

export interface InvokeResponse {
  /** Lambda's FunctionError ('Unhandled', …) when the function threw. */
  functionError?: string;
  /** The response payload as text (JSON). */
  payload: string;
}

/** Invokes a function synchronously (RequestResponse) with a JSON event. */
export interface LambdaInvoker {
  invoke(functionName: string, event: unknown): Promise<InvokeResponse>;
}

export interface RemoteOptions {
  stack: string;
  region?: string;
  /** Default: CloudFormation DescribeStacks. */
  outputs?: StackOutputsLookup;
  /** Default: Lambda Invoke. */
  lambda?: LambdaInvoker;
  /** Default: Step Functions StartExecution and DescribeExecution (the audit). */
  stateMachine?: StateMachinePort;
  /** The audit's wait for its execution (tests: sleep, interrupts, clock). */
  wait?: Omit<WaitOptions, 'progress'>;
  /** The audit's progress line, unless --json (default: on stderr when it is a terminal). */
  progress?: () => ProgressLine | undefined;
  /** Where AUDITOR_S3_ENDPOINT / AUDITOR_DYNAMODB_ENDPOINT are read (default process.env). */
  env?: Env;
  /** First interval between manifest polls during `upload` (default 1 s, growing to 5 s). */
  pollMs?: number;
}

/** What the CLI needs from the stack, and the output naming each. */
const REQUIRED_OUTPUTS = {
  logBucket: LOG_BUCKET.output,
  reportsBucket: REPORTS_BUCKET.output,
  usageTable: USAGE_TABLE.output,
  controlTable: CONTROL_TABLE.output,
  ingestFunction: INGEST_FUNCTION.output,
  auditFunction: AUDIT_FUNCTION.output,
} as const;

export type StackResources = Record<keyof typeof REQUIRED_OUTPUTS, string> & {
  /** Where S3 notifications go after repeated ingest failures (named in upload timeouts). */
  ingestDeadLetterQueue?: string;
  /** The audit state machine `audit` starts (absent in a stack deployed before it). */
  auditStateMachine?: string;
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** --region, else the SDK's own resolution (AWS_REGION, the profile's region). */
async function resolveRegion(flag: string | undefined): Promise<string> {
  if (flag) return flag;
  const probe = new CloudFormationClient({});
  try {
    return await probe.config.region();
  } catch {
    throw new CliError('--stack: no AWS region; give --region or set AWS_REGION');
  } finally {
    probe.destroy();
  }
}

/** DescribeStacks; a stack that does not exist is a ValidationError "… does not exist". */
export function cloudFormationOutputs(client?: CloudFormationClient): StackOutputsLookup {
  return async (stack, region) => {
    const cfn = client ?? new CloudFormationClient({ region });
    let out: DescribeStacksCommandOutput;
    try {
      out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    } catch (err) {
      if (err instanceof Error && err.name === 'ValidationError' && /does not exist/i.test(err.message))
        return undefined;
      throw new CliError(`stack ${stack} in ${region}: cannot read its outputs: ${messageOf(err)}`);
    } finally {
      if (!client) cfn.destroy();
    }
    const found = out.Stacks?.[0];
    if (!found) return undefined;
    const outputs: Record<string, string> = {};
    for (const o of found.Outputs ?? [])
      if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
    return { outputs, ...(found.StackStatus ? { status: found.StackStatus } : {}) };
  };
}

export function lambdaInvoker(client: LambdaClient): LambdaInvoker {
  return {
    async invoke(functionName, event) {
      const out = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(event ?? {})),
        }),
      );
      return {
        ...(out.FunctionError ? { functionError: out.FunctionError } : {}),
        payload: out.Payload ? new TextDecoder().decode(out.Payload) : '',
      };
    },
  };
}

/** Reads the stack's outputs, naming what is missing. */
export async function stackResources(
  stack: string,
  region: string,
  lookup: StackOutputsLookup,
): Promise<StackResources> {
  const described = await lookup(stack, region);
  if (!described) throw new CliError(`stack ${stack} not found in ${region}`);
  const { outputs, status } = described;
  const missing = Object.values(REQUIRED_OUTPUTS).filter((o) => !outputs[o]);
  if (missing.length > 0) {
    throw new CliError(
      `stack ${stack} in ${region}${status ? ` (${status})` : ''} has no output${missing.length > 1 ? 's' : ''} ` +
        `${missing.join(', ')}: is it a usage-auditor stack, deployed from this version?`,
    );
  }
  const resources = Object.fromEntries(
    Object.entries(REQUIRED_OUTPUTS).map(([k, o]) => [k, outputs[o] as string]),
  ) as StackResources;
  const dlq = outputs[OPS_OUTPUTS.ingestDeadLetterQueueUrl];
  if (dlq) resources.ingestDeadLetterQueue = dlq;
  const machine = outputs[RUN_OUTPUTS.auditStateMachineArn];
  if (machine) resources.auditStateMachine = machine;
  return resources;
}

/** Invokes a function and returns its parsed response; a function error becomes a CliError. */
async function invokeJson(lambda: LambdaInvoker, what: string, fn: string, event: unknown): Promise<unknown> {
  let res: InvokeResponse;
  try {
    res = await lambda.invoke(fn, event);
  } catch (err) {
    throw new CliError(`invoking the ${what} function ${fn}: ${messageOf(err)}`);
  }
  let body: unknown = null;
  try {
    body = res.payload.trim() === '' ? null : JSON.parse(res.payload);
  } catch {
    if (!res.functionError)
      throw new CliError(
        `the ${what} function ${fn} returned a response that is not JSON: ${res.payload.slice(0, 200)}`,
      );
  }
  if (res.functionError) {
    const e = (typeof body === 'object' && body !== null ? body : {}) as {
      errorType?: unknown;
      errorMessage?: unknown;
    };
    const message =
      typeof e.errorMessage === 'string' ? e.errorMessage : res.payload.trim() || res.functionError;
    const type = typeof e.errorType === 'string' && e.errorType !== 'Error' ? `${e.errorType}: ` : '';
    throw new CliError(`the ${what} function ${fn} failed: ${type}${message.replace(/\s*\n\s*/g, ' ')}`);
  }
  return body;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

function describeKeys(keys: readonly string[], max = 10): string {
  const shown = keys.slice(0, max).join(', ');
  return keys.length > max ? `${shown} and ${keys.length - max} more` : shown;
}

interface PendingUpload {
  file: UploadFile;
  gen: string;
}

/**
 * Puts the files, then polls their manifests until each names the version just put. A file whose
 * version was already committed before the put (same content, unversioned bucket) is a duplicate.
 */
async function uploadAndWait(
  s3: S3Client,
  usage: Pick<UsageReader, 'getManifests'>,
  logBucket: string,
  files: readonly UploadFile[],
  waitSeconds: number,
  pollMs: number,
  deadLetterQueue: string | undefined,
): Promise<UploadReport[]> {
  if (!(waitSeconds > 0))
    throw new CliError(`--wait-seconds: expected a positive number, got ${waitSeconds}`);
  const before = new Map((await usage.getManifests(files.map((f) => f.key))).map((m) => [m.key, m]));
  const gens = await mapLimit(files, 4, async (f) => generationOf(await putLogFile(s3, logBucket, f)));
  const deadline = Date.now() + waitSeconds * 1000;

  const reports = new Map<string, UploadReport>();
  const pending = new Map<string, PendingUpload>();
  files.forEach((file, i) => {
    const gen = gens[i] as string;
    const previous = before.get(file.key);
    if (previous?.gen === gen) reports.set(file.key, uploadReport(file, 'duplicate', previous));
    else pending.set(file.key, { file, gen });
  });

  const bar = progressBar('processing {bar} {value}/{total} objects', pending.size > 0);
  bar?.start(files.length, reports.size);
  try {
    let interval = pollMs;
    while (pending.size > 0) {
      const manifests: ObjectManifest[] = await usage.getManifests([...pending.keys()]);
      for (const m of manifests) {
        const p = pending.get(m.key);
        if (!p || m.gen !== p.gen) continue;
        reports.set(m.key, uploadReport(p.file, m.status, m));
        pending.delete(m.key);
        bar?.increment();
      }
      if (pending.size === 0) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        bar?.stop();
        throw new CliError(
          `timed out after ${waitSeconds} s waiting for the ingest function to process ` +
            `${pending.size} of ${files.length} uploaded object(s): ${describeKeys([...pending.keys()])} ` +
            `(they are uploaded; see the ingest function's logs${deadLetterQueue ? ` and its dead-letter queue ${deadLetterQueue}` : ''}, ` +
            'or wait longer with --wait-seconds)',
        );
      }
      await sleep(Math.min(interval, left));
      interval = Math.min(Math.round(interval * 1.5), 5000);
    }
  } finally {
    bar?.stop();
  }
  return files.map((f) => reports.get(f.key) as UploadReport);
}

/** A Runtime over a deployed stack. */
export async function openRemoteRuntime(opts: RemoteOptions): Promise<Runtime> {
  const stack = opts.stack.trim();
  if (stack === '') throw new CliError('--stack: expected a stack name');
  const env = opts.env ?? process.env;
  const region = await resolveRegion(opts.region);
  const resources = await stackResources(stack, region, opts.outputs ?? cloudFormationOutputs());

  // Real SDK clients in the stack's region; the emulator endpoints (tests) are honoured.
  const clientEnv: Env = { ...env, AWS_REGION: region };
  const s3 = clientEnv.AUDITOR_S3_ENDPOINT ? createS3Client(clientEnv) : new S3Client({ region });
  const dynamo = clientEnv.AUDITOR_DYNAMODB_ENDPOINT
    ? createDynamoClient(clientEnv)
    : new DynamoDBClient({ region });
  const lambdaClient = opts.lambda ? undefined : new LambdaClient({ region });
  const lambda = opts.lambda ?? lambdaInvoker(lambdaClient as LambdaClient);

  // The Step Functions client loads with the first audit.
  let sfn: Promise<StateMachinePort & { destroy?(): void }> | undefined;
  const machinePort = () => {
    sfn ??= opts.stateMachine ? Promise.resolve(opts.stateMachine) : sfnStateMachine(region);
    return sfn;
  };

  const stores = createStores({ s3, dynamo }, resources);
  const { usage } = stores;
  const { logBucket, reportsBucket, ingestFunction } = resources;

  return {
    ...stores,
    async invokeAudit(event, o = {}) {
      const machine = resources.auditStateMachine;
      if (!machine)
        throw new CliError(
          `stack ${stack} in ${region} has no output ${RUN_OUTPUTS.auditStateMachineArn}: ` +
            'deploy this version of the stack to run audits with --stack',
        );
      const progress = o.quiet ? undefined : (opts.progress ?? stderrProgress)();
      return runExecution(await machinePort(), machine, event, {
        ...opts.wait,
        ...(progress ? { progress } : {}),
      });
    },
    async reingest(key) {
      const out = (await invokeJson(lambda, 'ingest', ingestFunction, {
        action: 'reprocess',
        bucket: logBucket,
        key,
      })) as { results?: IngestResult[] } | null;
      const result = out?.results?.[0];
      if (!result) throw new CliError(`the ingest function ${ingestFunction} returned no result for ${key}`);
      return result;
    },
    uploadLogs: (files, o = {}) =>
      uploadAndWait(
        s3,
        usage,
        logBucket,
        files,
        o.waitSeconds ?? DEFAULT_UPLOAD_WAIT_SECONDS,
        opts.pollMs ?? 1000,
        resources.ingestDeadLetterQueue,
      ),
    logBucket,
    reportsBucket,
    // Against emulators (tests) there is no STS: the OS user, as locally.
    ...(clientEnv.AUDITOR_DYNAMODB_ENDPOINT
      ? {}
      : { identity: () => callerIdentity(region, () => dynamo.config.credentials()) }),
    async close() {
      s3.destroy();
      dynamo.destroy();
      lambdaClient?.destroy();
      if (sfn && !opts.stateMachine) (await sfn).destroy?.();
    },
  };
}
