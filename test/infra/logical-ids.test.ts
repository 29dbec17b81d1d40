/**
 * infra/constructs/logical-ids.ts: CDK's unique-id scheme, re-implemented, agrees with CDK's own ids;
 * transparent scopes drop out of the path (or merge into their children's ids).
 */
import { App, CfnElement, CfnResource, Names, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  flatComponents,
  flatNodeUniqueId,
  transparent,
  uniqueId,
} from '../../infra/constructs/logical-ids.ts';

const resource = (scope: Construct, id: string): CfnResource =>
  new CfnResource(scope, id, { type: 'Test::Thing' });

describe('uniqueId', () => {
  it("equals CDK's logical id for every element of a plain stack", () => {
    const stack = new Stack(new App(), 'Plain');
    const group = new Construct(stack, 'Group');
    const deep = new Construct(new Construct(group, 'Inner'), 'Default');
    for (const [scope, rid] of [
      [stack, 'Top'],
      [group, 'Resource'],
      [group, 'GroupThing'],
      [deep, 'Resource'],
      [deep, 'x-y_z'],
      [new Construct(stack, 'A'.repeat(250)), 'Long'],
    ] as Array<[Construct, string]>) {
      resource(scope, rid);
    }
    const elements = stack.node.findAll().filter((c): c is CfnElement => CfnElement.isCfnElement(c));
    expect(elements).toHaveLength(6);
    for (const el of elements) {
      const components = el.node.scopes.slice(2).map((c) => c.node.id);
      expect(uniqueId(components), el.node.path).toBe(stack.getLogicalId(el));
    }
    expect(flatNodeUniqueId(group)).toBe(Names.nodeUniqueId(group.node));
  });
});

describe('transparent', () => {
  it('drops a scope, or merges its id into its children (a Default child takes the id alone)', () => {
    const stack = new Stack(new App(), 'Flat');
    const dropped = new Construct(stack, 'Storage');
    transparent(dropped);
    const merged = new Construct(stack, 'IngestFunction');
    transparent(merged, { merge: true });
    const paths = (c: Construct): string[] => flatComponents(c.node.scopes.slice(2));
    expect(paths(resource(dropped, 'LogBucket'))).toEqual(['LogBucket']);
    expect(paths(resource(new Construct(merged, 'Role'), 'Resource'))).toEqual([
      'IngestFunctionRole',
      'Resource',
    ]);
    expect(paths(resource(new Construct(merged, 'Default'), 'Resource'))).toEqual([
      'IngestFunction',
      'Resource',
    ]);
    // Outside a stack that overrides allocateLogicalId, the marks change nothing.
    expect(stack.getLogicalId(resource(dropped, 'Table'))).toBe(uniqueId(['Storage', 'Table']));
  });
});
