/**
 * `auditor --stack NAME audit`: one execution of the stack's audit state machine, started with the
 * request the audit function accepts and waited for (functions/cli/state-machine.ts), through a
 * fake state-machine port; no network, no real sleeping.
 */
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DateResult } from '../../../functions/audit/run-audit.ts';
import { type AuditOptions, printAudit, runAudit } from '../../../functions/cli/commands/audit.ts';
import type { Runtime } from '../../../functions/cli/context.ts';
import { CliError } from '../../../functions/cli/errors.ts';
import { type LambdaInvoker, openRemoteRuntime, type RemoteOptions } from '../../../functions/cli/remote.ts';
import {
  type ExecutionDescription,
  executionName,
  MAX_POLL_FAILURES,
  type ProgressLine,
  type StateMachinePort,
  sfnStateMachine,
  WaitInterrupted,
} from '../../../functions/cli/state-machine.ts';
import {
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  REPORTS_BUCKET,
  RUN_OUTPUTS,
  USAGE_TABLE,
} from '../../../functions/shared/resources.ts';

const STACK = 'UsageAuditor';
const REGION = 'eu-west-1';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AuditStateMachine-X1';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:AuditStateMachine-X1:run-1';

const OUTPUTS: Record<string, string> = {
  [LOG_BUCKET.output]: 'logs-bucket',
  [REPORTS_BUCKET.output]: 'reports-bucket',
  [USAGE_TABLE.output]: 'usage-table',
  [CONTROL_TABLE.output]: 'control-table',
  [INGEST_FUNCTION.output]: 'ingest-fn',
  [AUDIT_FUNCTION.output]: 'audit-fn',
  [RUN_OUTPUTS.auditStateMachineArn]: MACHINE,
};

const REPORTS: DateResult[] = [
  { date: '2026-11-27', findings: 3, written: true },
  { date: '2026-11-26', findings: 0, written: false },
  { date: '2026-11-25', findings: 0, written: false, skipped: 'held by another run' },
];

/** A state machine whose executions answer the given descriptions in turn (the last one repeats). */
class FakeMachine implements StateMachinePort {
  readonly starts: { stateMachineArn: string; input: unknown }[] = [];
  readonly names: string[] = [];
  readonly describes: string[] = [];
  constructor(private readonly answers: ExecutionDescription[]) {}
  async start(stateMachineArn: string, input: unknown, name: string) {
    // The SDK sends the input as JSON text: what the state machine gets is its round trip.
    this.starts.push({ stateMachineArn, input: JSON.parse(JSON.stringify(input)) });
    this.names.push(name);
    return { executionArn: EXECUTION };
  }
  async describe(executionArn: string) {
    this.describes.push(executionArn);
    return this.answers[Math.min(this.describes.length - 1, this.answers.length - 1)] as ExecutionDescription;
  }
}

const succeeded = (out: unknown): ExecutionDescription => ({
  status: 'SUCCEEDED',
  output: JSON.stringify(out),
});

const noLambda: LambdaInvoker = {
  invoke: async (fn) => {
    throw new Error(`unexpected Lambda invocation of ${fn}`);
  },
};

const opened: Runtime[] = [];
afterEach(async () => {
  for (const rt of opened.splice(0)) await rt.close();
  vi.restoreAllMocks();
});

interface Harness {
  rt: Runtime;
  sleeps: number[];
  shown: string[];
  cleared: () => number;
  interrupt: () => void;
  subscribed: () => number;
}

async function remoteWith(machine: StateMachinePort, extra: Partial<RemoteOptions> = {}): Promise<Harness> {
  const sleeps: number[] = [];
  const shown: string[] = [];
  let clears = 0;
  let interrupt: (() => void) | undefined;
  let subscribed = 0;
  const progress: ProgressLine = {
    show: (t) => shown.push(t),
    clear: () => {
      clears++;
    },
  };
  const rt = await openRemoteRuntime({
    stack: STACK,
    region: REGION,
    outputs: async (stack) => (stack === STACK ? { outputs: OUTPUTS } : undefined),
    lambda: noLambda,
    env: {},
    stateMachine: machine,
    progress: () => progress,
    wait: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      onInterrupt: (fn) => {
        interrupt = fn;
        subscribed++;
        return () => {
          subscribed--;
        };
      },
      now: () => 1_000 + sleeps.reduce((a, b) => a + b, 0),
    },
    ...extra,
  });
  opened.push(rt);
  return {
    rt,
    sleeps,
    shown,
    cleared: () => clears,
    interrupt: () => interrupt?.(),
    subscribed: () => subscribed,
  };
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

const failure = async (p: Promise<unknown>): Promise<CliError> => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
};

describe('auditor --stack audit: one execution of the audit state machine', () => {
  it.each<[string, AuditOptions, unknown]>([
    ['the nightly run', {}, {}],
    ['--date', { date: '2026-11-27' }, { date: '2026-11-27' }],
    ['--from --to', { from: '2026-10-01', to: '2026-11-27' }, { from: '2026-10-01', to: '2026-11-27' }],
  ])(
    '%s: starts one execution with the request the function accepts, as its input',
    async (_, opts, input) => {
      const machine = new FakeMachine([{ status: 'RUNNING' }, succeeded({ reports: REPORTS })]);
      const { rt } = await remoteWith(machine);
      expect(await runAudit(rt, opts)).toEqual(REPORTS);
      expect(machine.starts).toEqual([{ stateMachineArn: MACHINE, input }]);
      expect(machine.describes).toEqual([EXECUTION, EXECUTION]);
    },
  );

  it('prints exactly what a direct invocation answering the same reports printed (table and --json)', async () => {
    // Today's path: the function's answer, {reports}, straight to the command.
    const direct = {
      invokeAudit: async () => JSON.parse(JSON.stringify({ reports: REPORTS })),
    } as unknown as Runtime;
    for (const json of [false, true]) {
      const machine = new FakeMachine([succeeded({ reports: REPORTS })]);
      const { rt } = await remoteWith(machine);
      const opts = { from: '2026-11-25', to: '2026-11-27', json };
      const viaMachine = await stdoutOf(async () => printAudit(await runAudit(rt, opts), json));
      const viaInvoke = await stdoutOf(async () => printAudit(await runAudit(direct, opts), json));
      expect(viaMachine).toBe(viaInvoke);
      expect(viaMachine).toContain('2026-11-27');
    }
  });

  it('polls DescribeExecution 2 s after the start, the interval growing by half up to 15 s', async () => {
    const machine = new FakeMachine([
      ...Array.from({ length: 8 }, (): ExecutionDescription => ({ status: 'RUNNING' })),
      succeeded({ reports: [] }),
    ]);
    const h = await remoteWith(machine);
    expect(await runAudit(h.rt, {})).toEqual([]);
    expect(h.sleeps).toEqual([2000, 3000, 4500, 6750, 10125, 15000, 15000, 15000, 15000]);
    expect(machine.describes).toHaveLength(9);
  });

  it('shows one progress line for people (status, elapsed time) and clears it; none with --json', async () => {
    const running = (): ExecutionDescription => ({ status: 'RUNNING' });
    const h = await remoteWith(new FakeMachine([running(), running(), succeeded({ reports: REPORTS })]));
    await runAudit(h.rt, { date: '2026-11-27' });
    expect(h.shown).toEqual([
      'audit execution run-1: RUNNING, 0 s (Ctrl-C stops waiting, not the run)',
      'audit execution run-1: RUNNING, 2 s (Ctrl-C stops waiting, not the run)',
      'audit execution run-1: RUNNING, 5 s (Ctrl-C stops waiting, not the run)',
    ]);
    expect(h.cleared()).toBe(1);

    const progress = vi.fn(() => ({ show: vi.fn(), clear: vi.fn() }));
    const quiet = await remoteWith(new FakeMachine([succeeded({ reports: REPORTS })]), { progress });
    await runAudit(quiet.rt, { date: '2026-11-27', json: true });
    expect(progress).not.toHaveBeenCalled();
  });

  it('a FAILED execution is one line naming it, its status, the error and the Lambda error message', async () => {
    const machine = new FakeMachine([
      {
        status: 'FAILED',
        error: 'ChainMismatchError',
        cause: JSON.stringify({
          errorType: 'ChainMismatchError',
          errorMessage: 'reports/date=2026-11-10/manifest.json:\nprevious hash differs',
          trace: ['at x', 'at y'],
        }),
      },
    ]);
    const { rt } = await remoteWith(machine);
    const err = await failure(runAudit(rt, { from: '2026-11-01', to: '2026-11-27' }));
    expect(err.message).toBe(
      `the audit execution ${EXECUTION} FAILED: ChainMismatchError: reports/date=2026-11-10/manifest.json: previous hash differs`,
    );
    expect(err.exitCode).toBe(1);
  });

  it.each<[ExecutionDescription, string]>([
    [{ status: 'TIMED_OUT' }, `the audit execution ${EXECUTION} TIMED_OUT: no error recorded`],
    [
      { status: 'TIMED_OUT', error: 'States.Timeout' },
      `the audit execution ${EXECUTION} TIMED_OUT: States.Timeout`,
    ],
    [
      { status: 'ABORTED', error: 'Stopped', cause: 'stopped by\nthe operator' },
      `the audit execution ${EXECUTION} ABORTED: Stopped: stopped by the operator`,
    ],
    [
      {
        status: 'FAILED',
        error: 'States.TaskFailed',
        cause: JSON.stringify({
          errorType: 'Sandbox.Timedout',
          errorMessage: 'Task timed out after 900.00 seconds',
        }),
      },
      `the audit execution ${EXECUTION} FAILED: States.TaskFailed: Sandbox.Timedout: Task timed out after 900.00 seconds`,
    ],
  ])('%o ends with one line and exit code 1', async (answer, message) => {
    const { rt } = await remoteWith(new FakeMachine([{ status: 'RUNNING' }, answer]));
    const err = await failure(runAudit(rt, { date: '2026-11-27' }));
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(1);
  });

  it('keeps waiting through PENDING_REDRIVE; an output that is not JSON is an error naming the execution', async () => {
    const { rt } = await remoteWith(
      new FakeMachine([{ status: 'PENDING_REDRIVE' }, { status: 'SUCCEEDED', output: 'oops' }]),
    );
    const err = await failure(runAudit(rt, {}));
    expect(err.message).toBe(
      `the audit execution ${EXECUTION} succeeded with an output that is not JSON: oops`,
    );
  });

  it('Ctrl-C stops waiting, not the execution: names it and how to look at it, exit code 130', async () => {
    const machine = new FakeMachine([{ status: 'RUNNING' }]);
    const h = await remoteWith(machine, {
      wait: {
        sleep: async () => {
          if (machine.describes.length === 2) h.interrupt();
        },
        onInterrupt: (fn) => {
          interrupt = fn;
          return () => {
            interrupt = undefined;
          };
        },
      },
    });
    let interrupt: (() => void) | undefined;
    h.interrupt = () => interrupt?.();
    const err = await failure(runAudit(h.rt, { date: '2026-11-27' }));
    expect(err).toBeInstanceOf(WaitInterrupted);
    expect(err.exitCode).toBe(130);
    expect(err.message).toBe(
      `stopped waiting; the audit execution ${EXECUTION} continues ` +
        `(see it with: aws stepfunctions describe-execution --execution-arn ${EXECUTION})`,
    );
    // Nothing more was asked of the execution (the port has no stop), and the handler is gone.
    expect(machine.describes).toHaveLength(2);
    expect(interrupt).toBeUndefined();
  });

  it('by default listens to SIGINT only while waiting', async () => {
    const before = process.listenerCount('SIGINT');
    const machine = new FakeMachine([{ status: 'RUNNING' }]);
    let during = -1;
    const { rt } = await remoteWith(machine, {
      wait: {
        sleep: async () => {
          during = process.listenerCount('SIGINT');
          // What SIGINT would call, without signalling this process.
          (process.listeners('SIGINT').at(-1) as () => void)();
        },
      },
    });
    const err = await failure(runAudit(rt, {}));
    expect(err).toBeInstanceOf(WaitInterrupted);
    expect(during).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('a start that fails names the state machine; a stack without the output says to deploy', async () => {
    const refusing: StateMachinePort = {
      start: async () => {
        throw Object.assign(new Error('User is not authorized to perform: states:StartExecution'), {
          name: 'AccessDeniedException',
        });
      },
      describe: async () => ({ status: 'RUNNING' }),
    };
    const { rt } = await remoteWith(refusing);
    expect((await failure(runAudit(rt, {}))).message).toMatch(
      /^starting the audit execution cli-\d{8}T\d{6}Z-[0-9a-f]{8} of the state machine arn:aws:states:eu-west-1:123456789012:stateMachine:AuditStateMachine-X1: User is not authorized to perform: states:StartExecution$/,
    );

    const old = await remoteWith(new FakeMachine([]), {
      outputs: async () => ({
        outputs: Object.fromEntries(
          Object.entries(OUTPUTS).filter(([k]) => k !== RUN_OUTPUTS.auditStateMachineArn),
        ),
      }),
    });
    expect((await failure(runAudit(old.rt, {}))).message).toBe(
      `stack ${STACK} in ${REGION} has no output AuditStateMachineArn: deploy this version of the stack to run audits with --stack`,
    );
  });

  it('DescribeExecution failing 5 times in a row says the execution continues; fewer are polled through', async () => {
    let calls = 0;
    const machine = (failUntil: number, name = 'ThrottlingException'): StateMachinePort => ({
      start: async () => ({ executionArn: EXECUTION }),
      describe: async () => {
        calls++;
        if (calls <= failUntil) throw Object.assign(new Error('Rate exceeded'), { name });
        return succeeded({ reports: REPORTS });
      },
    });
    const gaveUp = await remoteWith(machine(Number.POSITIVE_INFINITY));
    expect((await failure(runAudit(gaveUp.rt, {}))).message).toBe(
      `reading the audit execution ${EXECUTION}: Rate exceeded (it continues; see it with: aws stepfunctions describe-execution --execution-arn ${EXECUTION})`,
    );
    expect(calls).toBe(MAX_POLL_FAILURES);

    calls = 0;
    const through = await remoteWith(machine(MAX_POLL_FAILURES - 1));
    expect(await runAudit(through.rt, {})).toEqual(REPORTS);
    expect(calls).toBe(MAX_POLL_FAILURES);

    calls = 0;
    const denied = await remoteWith(machine(Number.POSITIVE_INFINITY, 'AccessDeniedException'));
    await failure(runAudit(denied.rt, {}));
    expect(calls).toBe(1);
  });

  it('names the execution on the client (a retried start finds the same one)', async () => {
    const machine = new FakeMachine([succeeded({ reports: [] })]);
    const { rt } = await remoteWith(machine);
    await runAudit(rt, {});
    await runAudit(rt, {});
    const [a, b] = machine.names;
    expect(a).toMatch(/^cli-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(b).toMatch(/^cli-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(executionName(Date.UTC(2026, 11, 1, 3, 15, 0))).toMatch(/^cli-20261201T031500Z-[0-9a-f]{8}$/);
  });

  it('Ctrl-C while the start is in flight names the execution it may have started, exit code 130', async () => {
    let interrupt: (() => void) | undefined;
    const machine: StateMachinePort = {
      start: () => {
        interrupt?.();
        return new Promise(() => undefined);
      },
      describe: async () => ({ status: 'RUNNING' }),
    };
    const { rt } = await remoteWith(machine, {
      wait: {
        sleep: async () => undefined,
        name: 'cli-20261201T031500Z-00000000',
        onInterrupt: (fn) => {
          interrupt = fn;
          return () => {
            interrupt = undefined;
          };
        },
      },
    });
    const err = await failure(runAudit(rt, { date: '2026-11-27' }));
    const arn =
      'arn:aws:states:eu-west-1:123456789012:execution:AuditStateMachine-X1:cli-20261201T031500Z-00000000';
    expect(err.exitCode).toBe(130);
    expect(err.message).toBe(
      `stopped while starting the audit execution ${arn}: it may have started and, if so, continues (see it with: aws stepfunctions describe-execution --execution-arn ${arn})`,
    );
    expect(interrupt).toBeUndefined();
  });

  it('one --date another run holds fails with that one line, as a direct invocation does; a range names it skipped', async () => {
    const held = {
      date: '2026-11-27',
      findings: 0,
      written: false,
      skipped: 'lease held by another audit run until 2026-11-28T02:15:00.000Z',
    };
    const { rt } = await remoteWith(new FakeMachine([succeeded({ reports: [held] })]));
    const err = await failure(runAudit(rt, { date: '2026-11-27' }));
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('2026-11-27: lease held by another audit run until 2026-11-28T02:15:00.000Z');
    const range = await remoteWith(new FakeMachine([succeeded({ reports: [held] })]));
    expect(await runAudit(range.rt, { from: '2026-11-27', to: '2026-11-27' })).toEqual([held]);
  });

  it('reprocess still invokes the ingest function', async () => {
    const calls: { fn: string; event: unknown }[] = [];
    const lambda: LambdaInvoker = {
      invoke: async (fn, event) => {
        calls.push({ fn, event });
        return { payload: JSON.stringify({ results: [{ key: 'logs/a.jsonl', outcome: 'ingested' }] }) };
      },
    };
    const machine = new FakeMachine([]);
    const { rt } = await remoteWith(machine, { lambda });
    expect(await rt.reingest('logs/a.jsonl')).toEqual({ key: 'logs/a.jsonl', outcome: 'ingested' });
    expect(calls).toEqual([
      { fn: 'ingest-fn', event: { action: 'reprocess', bucket: 'logs-bucket', key: 'logs/a.jsonl' } },
    ]);
    expect(machine.starts).toEqual([]);
  });
});

describe('the Step Functions adapter', () => {
  it('sends StartExecution with the request as JSON input and maps DescribeExecution', async () => {
    const sfn = mockClient(SFNClient);
    try {
      sfn
        .on(StartExecutionCommand)
        .resolves({ executionArn: EXECUTION, startDate: new Date() })
        .on(DescribeExecutionCommand)
        .resolvesOnce({
          executionArn: EXECUTION,
          stateMachineArn: MACHINE,
          status: 'FAILED',
          startDate: new Date(),
          error: 'AuditRequestError',
          cause: '{"errorMessage":"bad"}',
        })
        .resolvesOnce({
          executionArn: EXECUTION,
          stateMachineArn: MACHINE,
          status: 'SUCCEEDED',
          startDate: new Date(),
          output: '{"reports":[]}',
        });
      const port = await sfnStateMachine(REGION);
      try {
        expect(await port.start(MACHINE, { from: '2026-11-01', to: '2026-11-27' }, 'cli-x')).toEqual({
          executionArn: EXECUTION,
        });
        expect(await port.describe(EXECUTION)).toEqual({
          status: 'FAILED',
          error: 'AuditRequestError',
          cause: '{"errorMessage":"bad"}',
        });
        expect(await port.describe(EXECUTION)).toEqual({ status: 'SUCCEEDED', output: '{"reports":[]}' });
      } finally {
        port.destroy();
      }
      const start = sfn
        .commandCalls(StartExecutionCommand)
        .map((c) => c.args[0].input as StartExecutionCommandInput);
      expect(start).toEqual([
        { stateMachineArn: MACHINE, name: 'cli-x', input: '{"from":"2026-11-01","to":"2026-11-27"}' },
      ]);
      expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
        { executionArn: EXECUTION },
        { executionArn: EXECUTION },
      ]);
    } finally {
      sfn.restore();
    }
  });
});
