/**
 * Finding events (infra/constructs/finding-events.ts): the bus, the digest topic and its e-mail
 * subscriptions from context, the audit function's two grants (PutEvents on this bus only,
 * Publish to this topic only), its environment, the outputs and the prop / context-key checks.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FINDING_EVENTS } from '../../functions/shared/resources.ts';
import { FindingEvents, splitEmails } from '../../infra/constructs/finding-events.ts';
import {
  fixture,
  getAtt,
  logicalId,
  mainIds,
  normalize,
  ref,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

const t = synth({ context: { findingEmails: 'compliance@example.com, finance@example.com' } }).template;
const id = mainIds(t);
const bus = logicalId(t, 'AWS::Events::EventBus', FINDING_EVENTS.busId);
const topic = logicalId(t, 'AWS::SNS::Topic', FINDING_EVENTS.topicId);

describe('finding events: resources', () => {
  it('one event bus, named after the stack', () => {
    expect(Object.keys(resourcesOfType(t, 'AWS::Events::EventBus'))).toEqual([bus]);
    expect((resourcesOfType(t, 'AWS::Events::EventBus')[bus] as Json).Properties).toEqual({
      Name: 'UsageAuditor-findings',
      Description: 'usage-auditor: one event per finding opened, changed or resolved',
      Tags: [{ Key: 'app', Value: 'usage-auditor' }],
    });
    const prod = synth({ context: { stackName: 'Prod' } }).template;
    prod.hasResourceProperties('AWS::Events::EventBus', { Name: 'Prod-findings' });
  });

  it('the digest topic: encrypted with SNS’s managed key, SSL only, one e-mail subscription per context address', () => {
    expect((resourcesOfType(t, 'AWS::SNS::Topic')[topic] as Json).Properties).toEqual({
      DisplayName: 'usage-auditor findings digest',
      KmsMasterKeyId: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':kms:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':alias/aws/sns',
          ],
        ],
      },
      Tags: [{ Key: 'app', Value: 'usage-auditor' }],
    });
    const subs = Object.values(resourcesOfType(t, 'AWS::SNS::Subscription'))
      .map((s) => s.Properties as Json)
      .filter((p) => JSON.stringify(p.TopicArn) === JSON.stringify(ref(topic)));
    expect(subs.map((s) => [s.Protocol, s.Endpoint]).sort()).toEqual([
      ['email', 'compliance@example.com'],
      ['email', 'finance@example.com'],
    ]);
    // SSL only: the topic policy denies publishing without TLS.
    const policies = Object.values(resourcesOfType(t, 'AWS::SNS::TopicPolicy')).filter((p) =>
      JSON.stringify((p.Properties as Json).Topics).includes(topic),
    );
    expect(policies).toHaveLength(1);
    expect(JSON.stringify(policies[0])).toContain('"aws:SecureTransport":"false"');
  });

  it('no e-mail context: no subscription on the digest topic', () => {
    const plain = synth().template;
    const digest = logicalId(plain, 'AWS::SNS::Topic', FINDING_EVENTS.topicId);
    const subs = Object.values(resourcesOfType(plain, 'AWS::SNS::Subscription')).filter(
      (s) => JSON.stringify((s.Properties as Json).TopicArn) === JSON.stringify(ref(digest)),
    );
    expect(subs).toEqual([]);
  });
});

describe('finding events: the audit function', () => {
  it('may PutEvents on this bus only and Publish to this topic only', () => {
    const statements = roleStatements(t, id.auditRole);
    const events = statements.filter((s) => JSON.stringify(s.Action).includes('events:'));
    const sns = statements.filter((s) => JSON.stringify(s.Action).includes('sns:'));
    expect(events.map(normalize)).toEqual([
      { actions: ['events:PutEvents'], resources: [JSON.stringify(getAtt(bus))] },
    ]);
    expect(sns.map(normalize)).toEqual([
      { actions: ['sns:Publish'], resources: [JSON.stringify(ref(topic))] },
    ]);
    // No other role of the stack may put on the bus or publish to the digest topic.
    for (const role of [id.ingestRole, id.reconcileRole]) {
      const text = JSON.stringify(roleStatements(t, role));
      expect(text).not.toContain(bus);
      expect(text).not.toContain(topic);
    }
  });

  it('learns the bus, the topic and the threshold from its environment', () => {
    const fn = resourcesOfType(t, 'AWS::Lambda::Function')[id.auditFn] as Json;
    const vars = ((fn.Properties as Json).Environment as { Variables: Json }).Variables;
    expect(vars[FINDING_EVENTS.busEnv]).toEqual(ref(bus));
    expect(vars[FINDING_EVENTS.topicEnv]).toEqual(ref(topic));
    expect(vars[FINDING_EVENTS.thresholdEnv]).toBe('10');
    const ingest = resourcesOfType(t, 'AWS::Lambda::Function')[id.ingestFn] as Json;
    expect(JSON.stringify(ingest)).not.toContain(FINDING_EVENTS.busEnv);
  });

  it('findingChangePercent reaches FINDING_CHANGE_PERCENT', () => {
    const other = synth({ context: { findingChangePercent: '25' } }).template;
    const fn = resourcesOfType(other, 'AWS::Lambda::Function')[mainIds(other).auditFn] as Json;
    expect(
      ((fn.Properties as Json).Environment as { Variables: Json }).Variables[FINDING_EVENTS.thresholdEnv],
    ).toBe('25');
  });

  it('outputs name the bus and the topic', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[FINDING_EVENTS.busOutput]?.Value).toEqual(ref(bus));
    expect(outputs[FINDING_EVENTS.topicOutput]?.Value).toEqual(ref(topic));
  });
});

describe('finding events: checks', () => {
  it('a bad e-mail in findingEmails or a threshold out of range fails the synth naming the key', () => {
    expect(() => synth({ context: { findingEmails: 'ops@example.com,not-an-address' } })).toThrow(
      /findingEmails: expected comma-separated e-mail addresses \("not-an-address" is not one\)/,
    );
    expect(() => synth({ context: { findingChangePercent: '1001' } })).toThrow(
      /findingChangePercent: expected an integer from 0 to 1000/,
    );
  });

  it('the construct checks its own props', () => {
    const f = fixture();
    expect(
      () => new FindingEvents(f.stack, 'FindingEvents', { auditFunction: f.auditFunction, emails: ['nope'] }),
    ).toThrow('FindingEvents: emails[0]: expected an e-mail address (got "nope")');
    const g = fixture();
    expect(
      () =>
        new FindingEvents(g.stack, 'FindingEvents', {
          auditFunction: g.auditFunction,
          changeThresholdPercent: -1,
        }),
    ).toThrow('FindingEvents: changeThresholdPercent: expected an integer from 0 to 1000 (got -1)');
    const h = fixture();
    new FindingEvents(h.stack, 'FindingEvents', { auditFunction: h.auditFunction });
    const tpl = Template.fromStack(h.stack);
    tpl.resourceCountIs('AWS::Events::EventBus', 1);
    tpl.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(splitEmails(' a@b.co ,, c@d.io ')).toEqual(['a@b.co', 'c@d.io']);
  });
});
