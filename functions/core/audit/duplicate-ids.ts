/**
 * Whether report.json's data_quality.duplicate_request_ids.within_objects is a lower bound (issue
 * 11 item 5): ingest counts an object's repeated request_ids exactly among its first
 * MAX_FINGERPRINTS (core/evidence.ts) and marks its manifest `requestIds.capped` past them. When
 * some object behind the window's usage was capped, `within_objects_capped: true` says so (absent
 * otherwise, so other reports keep their bytes), with zero counts when nothing else was found.
 */

import { KMV_METHOD } from '../kmv.ts';
import type { ObjectManifest } from '../ledger.ts';
import type { DuplicateRequestIds } from './types.ts';

/** Whether some manifest of the given source keys had more request_ids than were counted. */
export function withinObjectsCapped(
  manifests: readonly Pick<ObjectManifest, 'key' | 'requestIds'>[],
  sourceKeys: Iterable<string>,
): boolean {
  const keys = new Set(sourceKeys);
  return manifests.some((m) => m.requestIds?.capped === true && keys.has(m.key));
}

/** The window's duplicate counts, marked when the within-object count is a lower bound. */
export function markCapped(
  dup: DuplicateRequestIds | undefined,
  capped: boolean,
): DuplicateRequestIds | undefined {
  if (!capped) return dup;
  return {
    ...(dup ?? { within_objects: 0, across_objects_estimate: 0, method: KMV_METHOD }),
    within_objects_capped: true,
  };
}
