/**
 * Finding events (issue 12): the EventBridge bus the audit function puts one event per finding
 * change on (source `usage-auditor`; detail-types `Finding Opened`, `Finding Changed`, `Finding
 * Resolved`), and the SNS topic (encrypted, SSL only) the digest of critical and high changes goes
 * to, with e-mail subscriptions. The audit function may PutEvents on this bus only and Publish to
 * this topic only; it learns their names from FINDING_EVENT_BUS and FINDING_DIGEST_TOPIC_ARN, and
 * the change threshold from FINDING_CHANGE_PERCENT.
 *
 * The bus is named `<stack name>-findings`. Consumers add their own rules on the bus, e.g. an API destination for a ticketing system, or
 * `{"source": ["usage-auditor"], "detail.finding.severity": ["critical"]}`.
 */
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FINDING_EVENTS } from '../../functions/shared/resources.ts';
import { ALARM_CHECKS } from './alarms.ts';
import { type Check, ensure, ensureProps, integer } from './checks.ts';
import type { LambdaFunction } from './lambda-function.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the props, also applied to the context keys that feed them. */
export const FINDING_EVENT_CHECKS = {
  changeThresholdPercent: integer(0, 1000),
} satisfies Record<string, Check<never>>;

/** A comma-separated list of e-mail addresses ('' = none). */
export const emailList: Check<string> = (v) => {
  const bad = splitEmails(v).find((e) => ALARM_CHECKS.email(e) !== undefined);
  return bad === undefined ? undefined : `expected comma-separated e-mail addresses ("${bad}" is not one)`;
};

export const splitEmails = (v: string): string[] =>
  v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');

export interface FindingEventsProps {
  /** The audit function: it puts the events and publishes the digest. */
  readonly auditFunction: LambdaFunction;
  /**
   * E-mail addresses subscribed to the digest topic.
   * @default none
   */
  readonly emails?: readonly string[];
  /**
   * A number must move by this percent of the published value to be a change (0–1000).
   * @default 10
   */
  readonly changeThresholdPercent?: number;
}

export class FindingEvents extends Construct {
  /** The bus every finding change is put on. */
  public readonly bus: events.EventBus;
  /** The topic of the digest of critical and high changes. */
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: FindingEventsProps) {
    super(scope, id);
    ensureProps('FindingEvents', props, FINDING_EVENT_CHECKS);
    for (const [i, e] of (props.emails ?? []).entries())
      ensure(`FindingEvents: emails[${i}]`, e, ALARM_CHECKS.email);
    transparent(this);

    this.bus = new events.EventBus(this, FINDING_EVENTS.busId, {
      eventBusName: `${Stack.of(this).stackName}-findings`,
      description: 'usage-auditor: one event per finding opened, changed or resolved',
    });
    // SNS's AWS managed key: no key to pay for, and SNS (hence e-mail delivery) may use it.
    this.topic = new sns.Topic(this, FINDING_EVENTS.topicId, {
      displayName: 'usage-auditor findings digest',
      masterKey: kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    for (const email of props.emails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    const fn = props.auditFunction;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PutFindingEvents',
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishFindingDigest',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    fn.lambdaFunction.addEnvironment(FINDING_EVENTS.busEnv, this.bus.eventBusName);
    fn.lambdaFunction.addEnvironment(FINDING_EVENTS.topicEnv, this.topic.topicArn);
    fn.lambdaFunction.addEnvironment(FINDING_EVENTS.thresholdEnv, String(props.changeThresholdPercent ?? 10));
  }
}
