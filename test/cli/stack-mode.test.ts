/**
 * The --stack mode tested against the emulators, with CloudFormation outputs stubbed.
 *
 * The remote runtime (functions/cli/remote.ts) is opened exactly as `auditor --stack` opens it,
 * except that its outputs lookup returns the emulators' table and bucket names, its SDK clients
 * point at the emulators (AUDITOR_S3_ENDPOINT / AUDITOR_DYNAMODB_ENDPOINT), its Lambda invoker
 * runs the real handler factories in this process, and its state machine runs an audit execution
 * as the stack's does (infra/constructs/audit-fan-out.ts): each step one invocation of the audit
 * function through that invoker. Uploads are not processed by the CLI: as in AWS
 * (S3 → SQS → Lambda), a delivery independent of the CLI hands an SQS message carrying the S3
 * notification (key URL-encoded) to the real ingest handler a little later, so `upload` really has
 * to wait for the object's manifest to be committed.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadAgreements } from '../../functions/cli/commands/agreements.ts';
import { runAudit } from '../../functions/cli/commands/audit.ts';
import { queryFindings } from '../../functions/cli/commands/findings.ts';
import { loadRecipients } from '../../functions/cli/commands/recipients.ts';
import { listReports, showReport, verifyReports } from '../../functions/cli/commands/reports.ts';
import { reprocess } from '../../functions/cli/commands/reprocess.ts';
import { type UploadReport, upload } from '../../functions/cli/commands/upload.ts';
import { queryUsage } from '../../functions/cli/commands/usage.ts';
import { CliError } from '../../functions/cli/errors.ts';
import {
  cloudFormationOutputs,
  type LambdaInvoker,
  lambdaInvoker,
  openRemoteRuntime,
  type StackOutputsLookup,
  stackResources,
} from '../../functions/cli/remote.ts';
import { openRuntime, type Runtime } from '../../functions/cli/runtime.ts';
import type { ExecutionDescription, StateMachinePort } from '../../functions/cli/state-machine.ts';
import { DEFAULT_LIMITS } from '../../functions/core/log-reader.ts';
import {
  type Emulators,
  encodeS3Key,
  lambdaContext,
  localName,
  type ObjectCreatedEvent,
  startEmulators,
} from '../../functions/local/stack.ts';
import { composeAuditHandler, composeIngestHandler } from '../../functions/shared/compose.ts';
import type { IngestConfig } from '../../functions/shared/config.ts';
import {
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  REPORTS_BUCKET,
  RUN_OUTPUTS,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';

const STACK = 'usage-auditor-test';
const REGION = 'eu-central-1';
const FN = { ingest: 'usage-auditor-IngestFunction-T35T', audit: 'usage-auditor-AuditFunction-T35T' };
const MACHINE = `arn:aws:states:${REGION}:000000000000:stateMachine:AuditStateMachine-T35T`;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'auditor-stack-mode-'));
const filesDir = join(dir, 'files');
/** The two drops: one key with a space and a '+', which S3 notifications URL-encode. */
const DROP_A = join(filesDir, 'nov 27+sample.jsonl');
const DROP_B = join(filesDir, 'nov-27.csv');

let emu: Emulators;
let remote: Runtime;
let local: Runtime;
let outputs: Record<string, string>;
let lambda: LambdaInvoker;
type Handler = (event: unknown, context: Context) => Promise<unknown>;
let ingest: Handler;

const invocations: { fn: string; event: unknown }[] = [];
/** The audit state machine's executions: their input and their end. */
const executions: { arn: string; input: unknown; done: Promise<ExecutionDescription> }[] = [];
/** Keys whose S3 notification is never delivered (the upload timeout test). */
const undelivered = new Set<string>();
const deliveries = new Set<Promise<void>>();
const deliveryFailures: string[] = [];
let deliveredMessages = 0;

const outputsStub: StackOutputsLookup = async (stack) =>
  stack === STACK ? { outputs, status: 'CREATE_COMPLETE' } : undefined;

/** Delivers an S3 notification as the queue would: an SQS record whose body is the notification. */
function deliverLater(event: ObjectCreatedEvent): void {
  const record = event.Records[0];
  if (!record || record.s3.bucket.name !== outputs[LOG_BUCKET.output]) return;
  if (!record.eventName.startsWith('ObjectCreated') || undelivered.has(record.s3.object.key)) return;
  const notification = {
    Records: [
      {
        ...record,
        s3: { ...record.s3, object: { ...record.s3.object, key: encodeS3Key(record.s3.object.key) } },
      },
    ],
  };
  deliveredMessages++;
  const sqsEvent = {
    Records: [
      {
        messageId: `m-${deliveredMessages}`,
        receiptHandle: `r-${deliveredMessages}`,
        body: JSON.stringify(notification),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AIDAS3',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${REGION}:000000000000:ingest`,
        awsRegion: REGION,
      },
    ],
  };
  const p = new Promise<void>((ok) => setTimeout(ok, 150))
    .then(() => ingest(sqsEvent, lambdaContext(FN.ingest)))
    .then((res) => {
      const failures = (res as { batchItemFailures?: unknown[] }).batchItemFailures ?? [];
      if (failures.length > 0) deliveryFailures.push(record.s3.object.key);
    })
    .catch((err: Error) => {
      deliveryFailures.push(`${record.s3.object.key}: ${err.message}`);
    })
    .finally(() => deliveries.delete(p));
  deliveries.add(p);
}

/** What a command printed on stdout. */
async function stdoutOf(fn: () => Promise<unknown>): Promise<string> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return text;
}

beforeAll(async () => {
  mkdirSync(filesDir, { recursive: true });
  copyFileSync(fixture('logs-sample.jsonl'), DROP_A);
  copyFileSync(fixture('logs-sample.csv'), DROP_B);
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  emu = await startEmulators({ dataDir: join(dir, 'remote'), logLevel: 'SILENT' });
  outputs = {
    [LOG_BUCKET.output]: localName(LOG_BUCKET.id),
    [REPORTS_BUCKET.output]: localName(REPORTS_BUCKET.id),
    [USAGE_TABLE.output]: emu.env.USAGE_TABLE as string,
    [CONTROL_TABLE.output]: emu.env.CONTROL_TABLE as string,
    [INGEST_FUNCTION.output]: FN.ingest,
    [AUDIT_FUNCTION.output]: FN.audit,
    [RUN_OUTPUTS.auditStateMachineArn]: MACHINE,
  };

  // The deployed functions: the handlers' own composition root, wired to the emulators.
  const config: IngestConfig = {
    usageTable: emu.env.USAGE_TABLE as string,
    controlTable: emu.env.CONTROL_TABLE as string,
    reportsBucket: localName(REPORTS_BUCKET.id),
    limits: DEFAULT_LIMITS,
  };
  const logger = () => new Logger({ serviceName: 'stack-mode-test', logLevel: 'SILENT' });
  // (A failed invocation publishes no metrics; Powertools warns about that through this logger.)
  const metrics = () =>
    new Metrics({ namespace: 'UsageAuditorTest', serviceName: 'stack-mode-test', logger: logger() });
  ingest = composeIngestHandler(
    emu,
    config,
    { logger: logger(), metrics: metrics() },
    { registryTtlMs: 0 },
  ) as Handler;
  const audit = composeAuditHandler(
    emu,
    config,
    { logger: logger(), metrics: metrics() },
    { now: () => new Date('2026-11-28T03:00:00Z') },
  ) as Handler;
  const handlers: Record<string, Handler> = { [FN.ingest]: ingest, [FN.audit]: audit };

  // Lambda Invoke (RequestResponse): an exception in the function is a FunctionError response.
  lambda = {
    async invoke(fn, event) {
      invocations.push({ fn, event });
      const handler = handlers[fn];
      if (!handler)
        throw Object.assign(new Error(`Function not found: ${fn}`), { name: 'ResourceNotFoundException' });
      try {
        return {
          payload: JSON.stringify(await handler(JSON.parse(JSON.stringify(event)), lambdaContext(fn))),
        };
      } catch (err) {
        const e = err as Error;
        return {
          functionError: 'Unhandled',
          payload: JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }),
        };
      }
    },
  };
  emu.s3rver.on('event', deliverLater);

  /** One step: an invocation of the audit function; a function error fails the execution as Step Functions does. */
  const step = async (event: unknown): Promise<unknown> => {
    const res = await lambda.invoke(FN.audit, event);
    if (res.functionError) {
      const { errorType } = JSON.parse(res.payload) as { errorType: string };
      throw Object.assign(new Error(errorType), { cause: res.payload });
    }
    return JSON.parse(res.payload);
  };
  /**
   * Plan ──> per date, newest first, [AuditPart per part] ──> AuditDate ──> FinishDate ──> Link, as
   * infra/constructs/audit-fan-out.ts passes the states' data: the output is Link's.
   */
  const execute = async (request: unknown): Promise<ExecutionDescription> => {
    try {
      const plan = (await step({ step: 'plan', request })) as {
        dates: { date: string; parts: unknown[] }[];
        trigger: string;
        run: string;
      };
      const reports: unknown[] = [];
      for (const { date, parts } of plan.dates) {
        const { trigger, run } = plan;
        const outcomes: unknown[] = [];
        for (const part of parts) outcomes.push(await step({ step: 'audit-part', date, trigger, run, part }));
        const result = await step({ step: 'audit-date', date, trigger, run, parts: outcomes });
        reports.push(await step({ step: 'finish-date', result }));
      }
      const out = await step({ step: 'link', trigger: plan.trigger, reports });
      return { status: 'SUCCEEDED', output: JSON.stringify(out) };
    } catch (err) {
      return { status: 'FAILED', error: (err as Error).message, cause: (err as Error).cause as string };
    }
  };
  const stateMachine: StateMachinePort = {
    async start(stateMachineArn, input) {
      if (stateMachineArn !== MACHINE) throw new Error(`State machine does not exist: ${stateMachineArn}`);
      const arn = `${MACHINE.replace(':stateMachine:', ':execution:')}:run-${executions.length + 1}`;
      const request = JSON.parse(JSON.stringify(input));
      executions.push({ arn, input: request, done: execute(request) });
      return { executionArn: arn };
    },
    async describe(executionArn) {
      const execution = executions.find((e) => e.arn === executionArn);
      if (!execution) throw new Error(`Execution does not exist: ${executionArn}`);
      return execution.done;
    },
  };

  remote = await openRemoteRuntime({
    stack: STACK,
    region: REGION,
    outputs: outputsStub,
    lambda,
    stateMachine,
    // The fake's DescribeExecution answers once the execution has ended: no need to wait between polls.
    wait: { sleep: async () => {} },
    env: emu.env,
    pollMs: 20,
  });
  // The same commands on the embedded local stack, for comparison.
  local = await openRuntime({ dataDir: join(dir, 'local') });
  for (const rt of [remote, local]) {
    await loadAgreements(rt, fixture('agreements.yaml'));
    await loadRecipients(rt, fixture('recipients.yaml'));
  }
});

afterAll(async () => {
  while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
  await remote?.close();
  await local?.close();
  await emu?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('auditor --stack against the emulators', () => {
  let uploads: UploadReport[];

  it('uploads, waits for the asynchronous ingest and reports as the local stack does', async () => {
    const before = deliveredMessages;
    uploads = await upload(remote, [DROP_A, DROP_B], { prefix: '2026/11' });
    // Processing happened through the queue, not through an invocation by the CLI.
    expect(deliveredMessages - before).toBe(2);
    expect(invocations).toEqual([]);
    expect(deliveryFailures).toEqual([]);

    expect(uploads.map((u) => [u.key, u.outcome])).toEqual([
      ['logs/2026/11/nov 27+sample.jsonl', 'ingested'],
      ['logs/2026/11/nov-27.csv', 'ingested'],
    ]);
    for (const u of uploads) expect(u.counted).toBeGreaterThan(0);
    expect(uploads[0]?.lines).toBe(7);
    expect(await upload(local, [DROP_A, DROP_B], { prefix: '2026/11' })).toEqual(uploads);
  });

  it('reports a re-upload of the same content as the local stack does', async () => {
    const again = await upload(remote, [DROP_A], { prefix: '2026/11' });
    expect(again).toEqual(await upload(local, [DROP_A], { prefix: '2026/11' }));
    expect(again[0]?.outcome).toBe('duplicate');
  });

  it('queries usage from the stack’s usage table', async () => {
    const range = { from: '2026-11-01', to: '2026-11-30' };
    const rows = await queryUsage(remote, range);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(await queryUsage(local, range));
    const keys = new Set(rows.flatMap((r) => r.sources.map((s) => s.key)));
    expect([...keys].sort()).toEqual(uploads.map((u) => u.key).sort());
    const northwind = await queryUsage(remote, { ...range, licensee: 'northwind' });
    expect(northwind.every((r) => r.app.startsWith('nw-'))).toBe(true);
  });

  it('audits with an execution of the audit state machine, then lists, shows and verifies its reports', async () => {
    const results = await runAudit(remote, { date: '2026-11-27' });
    expect(executions.at(-1)?.input).toEqual({ date: '2026-11-27' });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ date: '2026-11-27', written: true });
    expect(results[0]?.findings).toBeGreaterThan(0);

    const nightly = await runAudit(remote, {});
    expect(executions.at(-1)?.input).toEqual({});
    expect(nightly.map((r) => r.date)).toContain('2026-11-27');

    const listed = JSON.parse(await stdoutOf(() => listReports(remote, true)));
    expect(listed.latest).toBe('2026-11-27');
    const shown = await stdoutOf(() => showReport(remote, {}));
    expect(shown).toContain('report 2026-11-27:');
    expect(shown).toContain(
      `report.html: s3://${outputs[REPORTS_BUCKET.output]}/reports/date=2026-11-27/report.html`,
    );
    const reportJson = JSON.parse(
      await stdoutOf(() => showReport(remote, { date: '2026-11-27', json: true })),
    );
    expect(reportJson).toMatchObject({ report_date: '2026-11-27', findings: expect.any(Array) });
    const findings = await queryFindings(remote, {});
    expect(findings).toHaveLength(results[0]?.findings ?? -1);
    expect(await stdoutOf(async () => expect(await verifyReports(remote, false)).toBe(true))).toMatch(
      /verified/,
    );
  });

  it('audits --from --to with one execution, one invocation per step, newest first', async () => {
    const [before, started] = [invocations.length, executions.length];
    const results = await runAudit(remote, { from: '2026-11-25', to: '2026-11-27' });
    expect(executions.slice(started).map((e) => e.input)).toEqual([{ from: '2026-11-25', to: '2026-11-27' }]);
    expect(invocations.slice(before).map((i) => [i.fn, (i.event as { step: string }).step])).toEqual([
      [FN.audit, 'plan'],
      ...['2026-11-27', '2026-11-26', '2026-11-25'].flatMap(() => [
        [FN.audit, 'audit-date'],
        [FN.audit, 'finish-date'],
      ]),
      [FN.audit, 'link'],
    ]);
    expect(results.map((r) => r.date)).toEqual(['2026-11-27', '2026-11-26', '2026-11-25']);
    expect(results.every((r) => r.skipped === undefined)).toBe(true);
  });

  it('reprocesses by invoking the ingest function with the stored keys', async () => {
    invocations.length = 0;
    const results = await reprocess(remote, { from: '2026-11-27', to: '2026-11-27' });
    expect(results.map((r) => [r.key, r.outcome])).toEqual([
      ['logs/2026/11/nov 27+sample.jsonl', 'ingested'],
      ['logs/2026/11/nov-27.csv', 'ingested'],
    ]);
    expect(invocations).toEqual(
      uploads.map((u) => ({
        fn: FN.ingest,
        event: { action: 'reprocess', bucket: outputs[LOG_BUCKET.output], key: u.key },
      })),
    );
  });

  it('turns a failed execution into a CliError naming it and carrying the function’s errorMessage', async () => {
    const err = await remote.invokeAudit({ date: '2026-13-45' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      `the audit execution ${executions.at(-1)?.arn} FAILED: AuditRequestError: date: expected a date YYYY-MM-DD, got "2026-13-45"`,
    );
  });

  it('times out waiting for an object the ingest function never processes, naming its key', async () => {
    const file = join(filesDir, 'never processed.jsonl');
    writeFileSync(
      file,
      '{"timestamp":"2026-11-27T08:00:00Z","app_id":"nw-search","endpoint":"GET /x","status":200}\n',
    );
    undelivered.add('logs/never processed.jsonl');
    const started = Date.now();
    // Long enough for the other file's (delayed) delivery on a loaded machine, short for a test.
    const err = await upload(remote, [file, DROP_B], { waitSeconds: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(
      /^timed out after 3 s waiting for the ingest function to process 1 of 2 uploaded object\(s\): logs\/never processed\.jsonl \(/,
    );
    expect((err as Error).message).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('auditor --stack: finding the stack', () => {
  it('says which stack is missing in which region', async () => {
    const err = await openRemoteRuntime({
      stack: 'nope',
      region: 'eu-west-3',
      outputs: outputsStub,
      lambda,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe('stack nope not found in eu-west-3');
  });

  it('names the outputs the stack lacks', async () => {
    const partial: StackOutputsLookup = async () => ({
      outputs: Object.fromEntries(Object.entries(outputs).filter(([k]) => k !== AUDIT_FUNCTION.output)),
      status: 'UPDATE_ROLLBACK_COMPLETE',
    });
    const err = await openRemoteRuntime({ stack: STACK, region: REGION, outputs: partial, lambda }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      `stack ${STACK} in ${REGION} (UPDATE_ROLLBACK_COMPLETE) has no output AuditFunctionName: is it a usage-auditor stack, deployed from this version?`,
    );
  });

  it('reads outputs with DescribeStacks; a stack that does not exist is "not found"', async () => {
    const client = new CloudFormationClient({ region: 'eu-west-3' });
    const cfn = mockClient(client);
    try {
      cfn
        .on(DescribeStacksCommand, { StackName: 'nope' })
        .rejects(Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' }))
        .on(DescribeStacksCommand, { StackName: STACK })
        .resolves({
          Stacks: [
            {
              StackName: STACK,
              StackStatus: 'CREATE_COMPLETE',
              CreationTime: new Date(),
              Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({
                OutputKey,
                OutputValue,
              })),
            },
          ],
        });
      const lookup = cloudFormationOutputs(client);
      await expect(stackResources('nope', 'eu-west-3', lookup)).rejects.toThrow(
        'stack nope not found in eu-west-3',
      );
      expect(await stackResources(STACK, 'eu-west-3', lookup)).toEqual({
        logBucket: outputs[LOG_BUCKET.output],
        reportsBucket: outputs[REPORTS_BUCKET.output],
        usageTable: outputs[USAGE_TABLE.output],
        controlTable: outputs[CONTROL_TABLE.output],
        ingestFunction: FN.ingest,
        auditFunction: FN.audit,
        auditStateMachine: MACHINE,
      });
      cfn
        .on(DescribeStacksCommand)
        .rejects(Object.assign(new Error('The security token is invalid'), { name: 'ExpiredToken' }));
      await expect(lookup(STACK, 'eu-west-3')).rejects.toThrow(
        `stack ${STACK} in eu-west-3: cannot read its outputs: The security token is invalid`,
      );
    } finally {
      cfn.restore();
    }
  });

  it('invokes with Lambda Invoke (RequestResponse) and reads its FunctionError', async () => {
    const client = new LambdaClient({ region: REGION });
    const mock = mockClient(client);
    try {
      const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as never;
      mock
        .on(InvokeCommand)
        .resolvesOnce({
          StatusCode: 200,
          Payload: encode({ results: [{ key: 'logs/a.jsonl', outcome: 'ingested' }] }),
        })
        .resolvesOnce({
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: encode({
            errorType: 'Sandbox.Timedout',
            errorMessage: 'Task timed out after 900.00 seconds',
          }),
        });
      const rt = await openRemoteRuntime({
        stack: STACK,
        region: REGION,
        outputs: outputsStub,
        lambda: lambdaInvoker(client),
        env: emu.env,
      });
      try {
        expect(await rt.reingest('logs/a.jsonl')).toEqual({ key: 'logs/a.jsonl', outcome: 'ingested' });
        await expect(rt.reingest('logs/b.jsonl')).rejects.toThrow(
          `the ingest function ${FN.ingest} failed: Sandbox.Timedout: Task timed out after 900.00 seconds`,
        );
      } finally {
        await rt.close();
      }
      const calls = mock.commandCalls(InvokeCommand).map((c) => c.args[0].input);
      expect(calls.map((c) => [c.FunctionName, c.InvocationType])).toEqual([
        [FN.ingest, 'RequestResponse'],
        [FN.ingest, 'RequestResponse'],
      ]);
      const bucket = outputs[LOG_BUCKET.output];
      expect(calls.map((c) => JSON.parse(new TextDecoder().decode(c.Payload as Uint8Array)))).toEqual([
        { action: 'reprocess', bucket, key: 'logs/a.jsonl' },
        { action: 'reprocess', bucket, key: 'logs/b.jsonl' },
      ]);
    } finally {
      mock.restore();
    }
  });
});

describe('auditor command line: global and upload options', () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [join(root, 'bin/auditor.js'), ...args], {
      cwd: dir,
      env: { ...process.env, AUDITOR_DATA_DIR: join(dir, 'cli') },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('refuses --region without --stack and a non-positive --wait-seconds, in one line', async () => {
    const region = await cli('--region', 'eu-west-1', 'agreements', 'list');
    expect([region.code, region.stderr]).toEqual([1, 'auditor: --region goes with --stack NAME\n']);
    const wait = await cli('upload', '--wait-seconds', '0', DROP_A);
    expect([wait.code, wait.stderr]).toEqual([
      1,
      'auditor: --wait-seconds: expected a positive number of seconds, got "0"\n',
    ]);
  });
});
