/**
 * `auditor --stack … audit`: one execution of the stack's audit state machine (infra/constructs/
 * audit-fan-out.ts), started with the request the audit function accepts ({date}, {from, to} or
 * nothing: the nightly run) and waited for. Its output is what a direct invocation answers
 * ({reports}), so the command prints what it printed when it invoked the function.
 *
 * The wait polls DescribeExecution, 2 s after the start, then growing by half to 15 s between polls.
 * A person watching (stderr a terminal, no --json) sees one progress line. Ctrl-C stops the
 * wait, not the execution: the error names the execution and exits 130.
 *
 * The two Step Functions calls go through StateMachinePort, so tests stand in for them; the SDK
 * client is loaded only when an audit runs (sfnStateMachine).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { CliError } from './errors.ts';

export interface ExecutionDescription {
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE. */
  status: string;
  /** The execution's output (JSON text), once SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;
}

/** StartExecution and DescribeExecution. */
export interface StateMachinePort {
  /**
   * Starts an execution named `name` (the client's, so a start the SDK retries after a lost answer
   * finds the same execution instead of starting a second run).
   */
  start(stateMachineArn: string, input: unknown, name: string): Promise<{ executionArn: string }>;
  describe(executionArn: string, signal?: AbortSignal): Promise<ExecutionDescription>;
}

/** One line on stderr, rewritten in place. */
export interface ProgressLine {
  show(text: string): void;
  clear(): void;
}

export interface WaitOptions {
  /** Waits ms; rejects (or returns early) when the signal aborts. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Subscribes to interrupts (default SIGINT, once); returns the unsubscribe. */
  onInterrupt?: (interrupt: () => void) => () => void;
  progress?: ProgressLine;
  /** Clock of the progress line's elapsed time and the execution's name (default Date.now). */
  now?: () => number;
  /** The execution's name (default executionName(now())). */
  name?: string;
}

/** `cli-20261201T031500Z-1a2b3c4d`: unique, at most 80 characters of [A-Za-z0-9-]. */
export function executionName(at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `cli-${stamp}-${randomBytes(4).toString('hex')}`;
}

/** Polls in a row that may fail (throttling, a network blip) before the wait gives up. */
export const MAX_POLL_FAILURES = 5;

/** DescribeExecution errors that another poll cannot mend. */
const FINAL_DESCRIBE_ERRORS = new Set(['AccessDeniedException', 'ExecutionDoesNotExist', 'InvalidArn']);

/** First interval between polls, and the most it grows to. */
export const FIRST_POLL_MS = 2000;
export const MAX_POLL_MS = 15_000;

/** The intervals between polls: 2 s, 3 s, 4.5 s, … up to 15 s. */
export function nextPollMs(ms: number): number {
  return Math.min(Math.round(ms * 1.5), MAX_POLL_MS);
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** How to look at an execution from a shell. */
const lookAt = (executionArn: string): string =>
  `aws stepfunctions describe-execution --execution-arn ${executionArn}`;

/** Ctrl-C while waiting: the execution goes on. Exit code 130. */
export class WaitInterrupted extends CliError {
  override exitCode = 130;
  constructor(executionArn: string, starting = false) {
    super(
      starting
        ? `stopped while starting the audit execution ${executionArn}: it may have started and, if so, continues (see it with: ${lookAt(executionArn)})`
        : `stopped waiting; the audit execution ${executionArn} continues (see it with: ${lookAt(executionArn)})`,
    );
  }
}

/** The ARN an execution named `name` of `stateMachineArn` has. */
const executionArnOf = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** A Lambda error's cause is its response ({errorType, errorMessage, trace}) as JSON text. */
function causeText(error: string | undefined, cause: string | undefined): string {
  if (!cause) return '';
  let text = cause;
  try {
    const parsed = JSON.parse(cause) as { errorType?: unknown; errorMessage?: unknown } | null;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.errorMessage === 'string') {
      const type =
        typeof parsed.errorType === 'string' && parsed.errorType !== error ? `${parsed.errorType}: ` : '';
      text = `${type}${parsed.errorMessage}`;
    }
  } catch {
    // Not JSON: the cause as given.
  }
  text = text.replace(/\s*\n\s*/g, ' ').trim();
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** The one line naming an execution that did not succeed. */
export function executionFailure(executionArn: string, d: ExecutionDescription): string {
  const detail = [d.error, causeText(d.error, d.cause)].filter((s) => s !== undefined && s !== '');
  return `the audit execution ${executionArn} ${d.status}: ${detail.length > 0 ? detail.join(': ') : 'no error recorded'}`;
}

const sigint = (interrupt: () => void): (() => void) => {
  process.once('SIGINT', interrupt);
  return () => process.off('SIGINT', interrupt);
};

const elapsed = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
};

/**
 * Starts an execution with `input` and waits until it ends; returns its output, parsed. A run that
 * did not succeed, or an output that is not JSON, is a CliError naming the execution.
 */
export async function runExecution(
  port: StateMachinePort,
  stateMachineArn: string,
  input: unknown,
  opts: WaitOptions = {},
): Promise<unknown> {
  const sleep = opts.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  const now = opts.now ?? Date.now;
  const { progress } = opts;

  const name = opts.name ?? executionName(now());
  // Ctrl-C is heard from before the start: an interrupted start still names the execution.
  const interrupted = new AbortController();
  const unsubscribe = (opts.onInterrupt ?? sigint)(() => interrupted.abort());
  let executionArn = executionArnOf(stateMachineArn, name);
  let described: ExecutionDescription;
  try {
    const aborted = new Promise<never>((_, reject) =>
      interrupted.signal.addEventListener('abort', () => reject(new WaitInterrupted(executionArn, true)), {
        once: true,
      }),
    );
    aborted.catch(() => undefined);
    try {
      ({ executionArn } = await Promise.race([port.start(stateMachineArn, input, name), aborted]));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(
        `starting the audit execution ${name} of the state machine ${stateMachineArn}: ${messageOf(err)}`,
      );
    }
    const started = now();
    const shown = executionArn.slice(executionArn.lastIndexOf(':') + 1);
    const show = (status: string) =>
      progress?.show(
        `audit execution ${shown}: ${status}, ${elapsed(now() - started)} (Ctrl-C stops waiting, not the run)`,
      );
    show('RUNNING');
    let interval = FIRST_POLL_MS;
    let failures = 0;
    for (;;) {
      await sleep(interval, interrupted.signal);
      if (interrupted.signal.aborted) throw new WaitInterrupted(executionArn);
      try {
        described = await port.describe(executionArn, interrupted.signal);
        failures = 0;
      } catch (err) {
        // A transient failure (throttling, the network) is polled through; the run goes on anyway.
        failures++;
        if (interrupted.signal.aborted || failures >= MAX_POLL_FAILURES) throw err;
        if (err instanceof Error && FINAL_DESCRIBE_ERRORS.has(err.name)) throw err;
        interval = nextPollMs(interval);
        continue;
      }
      if (interrupted.signal.aborted) throw new WaitInterrupted(executionArn);
      if (TERMINAL.has(described.status)) break;
      show(described.status);
      interval = nextPollMs(interval);
    }
  } catch (err) {
    if (err instanceof WaitInterrupted) throw err;
    if (interrupted.signal.aborted) throw new WaitInterrupted(executionArn);
    if (err instanceof CliError) throw err;
    throw new CliError(
      `reading the audit execution ${executionArn}: ${messageOf(err)} (it continues; see it with: ${lookAt(executionArn)})`,
    );
  } finally {
    unsubscribe();
    progress?.clear();
  }

  if (described.status !== 'SUCCEEDED') throw new CliError(executionFailure(executionArn, described));
  try {
    return JSON.parse(described.output ?? '');
  } catch {
    throw new CliError(
      `the audit execution ${executionArn} succeeded with an output that is not JSON: ${(described.output ?? '').slice(0, 200)}`,
    );
  }
}

/** The progress line on stderr when a person is watching (a terminal). */
export function stderrProgress(): ProgressLine | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    show(text) {
      process.stderr.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/** The port over the Step Functions SDK client, loaded here (not when the CLI starts). */
export async function sfnStateMachine(region: string): Promise<StateMachinePort & { destroy(): void }> {
  const { SFNClient, StartExecutionCommand, DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
  const client = new SFNClient({ region });
  return {
    async start(stateMachineArn, input, name) {
      const out = await client.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input ?? {}) }),
      );
      if (!out.executionArn) throw new Error('StartExecution answered no executionArn');
      return { executionArn: out.executionArn };
    },
    async describe(executionArn, signal) {
      const out = await client.send(
        new DescribeExecutionCommand({ executionArn }),
        signal ? { abortSignal: signal } : {},
      );
      return {
        status: out.status ?? 'RUNNING',
        ...(out.output !== undefined ? { output: out.output } : {}),
        ...(out.error !== undefined ? { error: out.error } : {}),
        ...(out.cause !== undefined ? { cause: out.cause } : {}),
      };
    },
    destroy: () => client.destroy(),
  };
}
