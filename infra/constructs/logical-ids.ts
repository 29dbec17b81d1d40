/**
 * Logical ids that survive moving resources into constructs.
 *
 * CloudFormation identifies a resource by its logical id, and CDK derives that id from the
 * resource's construct path (Stack.allocateLogicalId: the path below the stack, readable part plus
 * an 8-digit MD5 of the path). Putting an existing bucket or table into a new construct would
 * change its path, hence its id, and a deployed stack would replace it. A construct that groups
 * resources without renaming them marks itself here, and the stack's allocateLogicalId override
 * (infra/stack.ts) names every resource by its path with such scopes taken out:
 *   - `transparent(scope)`: the scope's own id is dropped: Storage/LogBucket/Resource -> LogBucket/Resource;
 *   - `transparent(scope, { merge: true })`: the scope's id is prepended to its children's ids, and a
 *     child named Default takes the scope's id alone: IngestFunction/Role -> IngestFunctionRole,
 *     IngestFunction/Default/Resource -> IngestFunction/Resource.
 * Outside a stack that applies the override the marks do nothing.
 */
import { createHash } from 'node:crypto';
import type { IConstruct } from 'constructs';

const MARKS = new WeakMap<IConstruct, 'drop' | 'merge'>();

export function transparent(scope: IConstruct, options: { merge?: boolean } = {}): void {
  MARKS.set(scope, options.merge ? 'merge' : 'drop');
}

/** The path ids of `scopes` (outermost first) with transparent scopes taken out. */
export function flatComponents(scopes: readonly IConstruct[]): string[] {
  const out: string[] = [];
  let prefix = '';
  for (const scope of scopes) {
    const mark = MARKS.get(scope);
    if (mark !== undefined) {
      if (mark === 'merge') prefix += scope.node.id;
      continue;
    }
    const id = scope.node.id;
    out.push(prefix !== '' && id === 'Default' ? prefix : prefix + id);
    prefix = '';
  }
  return out;
}

const alphanumeric = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');

/**
 * CDK's unique-id scheme (aws-cdk-lib core makeUniqueId, not exported): `Default` components are
 * hidden, a single component is used as is, otherwise the human-readable path (without `Resource`
 * and repeated components) plus the first 8 hex digits of the MD5 of the path. Cross-checked against
 * CDK's own ids in test/infra/logical-ids.test.ts.
 */
export function uniqueId(components: readonly string[]): string {
  const parts = components.filter((c) => c !== 'Default');
  if (parts.length === 0) throw new Error('uniqueId: no path components');
  if (parts.length === 1) {
    const only = alphanumeric(parts[0] as string);
    if (only.length <= 255) return only;
  }
  const hash = createHash('md5').update(parts.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const c of parts) if (human.length === 0 || !human[human.length - 1]?.endsWith(c)) human.push(c);
  return (
    human
      .filter((c) => c !== 'Resource')
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
}

/** Names.nodeUniqueId of `construct` as it would be with transparent scopes taken out. */
export function flatNodeUniqueId(construct: IConstruct): string {
  return uniqueId(flatComponents(construct.node.scopes.slice(1)));
}
