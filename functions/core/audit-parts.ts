/**
 * A report date split into parts, pure (functions/audit/parts.ts runs them): what each licensee's
 * share of the date's object-proportional work is, and how licensees are grouped into parts.
 *
 * What in a date's audit grows with log objects is rebuilding stale rollups (every contribution of
 * a changed app-day is read) and writing each finding's evidence file (every contribution of the
 * finding's app-days is read). Both are per app, so a licensee's size is the objects behind the
 * app-days of its apps in the window: the stored rollups' object counts, plus, for a rollup that is
 * stale or missing, an estimate of the objects its day gained since (the day's commits since the
 * rollup's token, shared out by each app's part of the stored objects). Nothing else is read.
 *
 * Units: each licensee (its apps: those of every version of its terms on the window's days), and
 * the apps no licensee covers (their unknown_app findings). Parts: units in licensee order, a part
 * closed before a unit that would take it past the size; a unit alone past the size is a part of
 * its own; the uncovered apps go with the last part when they fit, else alone. A date whose units
 * together stay within the size is not split (no parts: audited in one invocation, as always).
 */
import type { Agreement } from './audit/agreements.ts';
import { compareStrings } from './support.ts';

/** One part of a split date: the licensees from `first` to `last` (by name), and/or the uncovered apps. */
export interface PartPlan {
  part: number;
  of: number;
  first?: string;
  last?: string;
  unlicensed?: true;
}

/** The default size past which a date is split: objects behind one part's app-days (README: Sizing the audit). */
export const AUDIT_PART_OBJECTS = 100_000;

const revOf = (token: string | undefined): number => Number((token ?? '0@').split('@')[0]) || 0;

/**
 * About how many objects are behind each listed app's app-days (app → day → objects; see the module
 * comment). `stored`: the stored rollups by `<day>\0<app>` (fresh or not); `tokens`: the days'
 * current tokens.
 */
export function estimateObjects(
  apps: readonly string[],
  tokens: ReadonlyMap<string, string>,
  stored: ReadonlyMap<string, { sourceCount: number; token: string }>,
): Map<string, Map<string, number>> {
  const storedOf = new Map<string, number>(apps.map((a) => [a, 0]));
  let all = 0;
  for (const day of tokens.keys()) {
    for (const app of apps) {
      const n = stored.get(`${day}\u0000${app}`)?.sourceCount ?? 0;
      storedOf.set(app, (storedOf.get(app) ?? 0) + n);
      all += n;
    }
  }
  const out = new Map<string, Map<string, number>>();
  for (const app of apps) {
    const days = new Map<string, number>();
    out.set(app, days);
    const share = all > 0 ? (storedOf.get(app) ?? 0) / all : 1 / apps.length;
    for (const [day, token] of tokens) {
      const r = stored.get(`${day}\u0000${app}`);
      let n = r?.sourceCount ?? 0;
      if (r?.token !== token) n += Math.ceil(Math.max(0, revOf(token) - revOf(r?.token)) * share);
      days.set(day, n);
    }
  }
  return out;
}

/** Per app, the objects of its days up to `date` (from estimateObjects). */
export function objectsUpTo(
  perDay: ReadonlyMap<string, ReadonlyMap<string, number>>,
  date: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [app, days] of perDay) {
    let n = 0;
    for (const [day, k] of days) if (day <= date) n += k;
    out.set(app, n);
  }
  return out;
}

/** Each licensee's apps over the window's days: those of its agreement on D and of its terms on each day. */
export function licenseeApps(
  agreements: readonly Agreement[],
  termsOn: ((licensee: string, day: string) => Agreement | undefined) | undefined,
  days: readonly string[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of [...agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const versions = [a, ...(termsOn ? days.map((d) => termsOn(a.licensee, d)) : [])];
    const ids = new Set<string>();
    for (const v of versions) for (const app of v?.apps ?? []) ids.add(app.id);
    out.set(a.licensee, [...ids].sort(compareStrings));
  }
  return out;
}

/** The apps of one part: its licensees' apps, and the uncovered ones when it has them. */
export function partApps(
  part: PartPlan,
  appsOf: ReadonlyMap<string, readonly string[]>,
  listed: readonly string[],
): string[] {
  const apps = new Set<string>();
  for (const [licensee, ids] of appsOf) if (inPart(part, licensee)) for (const id of ids) apps.add(id);
  if (part.unlicensed) {
    const covered = new Set([...appsOf.values()].flat());
    for (const app of listed) if (!covered.has(app)) apps.add(app);
  }
  return [...apps].sort(compareStrings);
}

/** Whether a licensee is one of the part's. */
export function inPart(part: PartPlan, licensee: string): boolean {
  return (
    part.first !== undefined &&
    part.last !== undefined &&
    compareStrings(licensee, part.first) >= 0 &&
    compareStrings(licensee, part.last) <= 0
  );
}

/**
 * The parts of one date, or none when every unit together is within `limit` objects (see the
 * module comment). `objects`: per app (estimateObjects).
 */
export function planParts(
  appsOf: ReadonlyMap<string, readonly string[]>,
  objects: ReadonlyMap<string, number>,
  limit: number,
): PartPlan[] {
  const sizeOf = (apps: Iterable<string>) => {
    let n = 0;
    for (const a of apps) n += objects.get(a) ?? 0;
    return n;
  };
  const covered = new Set([...appsOf.values()].flat());
  const uncovered = sizeOf([...objects.keys()].filter((a) => !covered.has(a)));
  const units = [...appsOf].map(([licensee, apps]) => ({ licensee, size: sizeOf(apps) }));
  if (units.reduce((n, u) => n + u.size, uncovered) <= limit) return [];
  const groups: { first: string; last: string; size: number }[] = [];
  let open: { first: string; last: string; size: number } | undefined;
  for (const u of units) {
    if (open && open.size + u.size > limit) {
      groups.push(open);
      open = undefined;
    }
    if (open) {
      open.last = u.licensee;
      open.size += u.size;
    } else open = { first: u.licensee, last: u.licensee, size: u.size };
  }
  if (open) groups.push(open);
  const last = groups.at(-1);
  const alone = last === undefined || (uncovered > 0 && last.size + uncovered > limit);
  const parts: Omit<PartPlan, 'part' | 'of'>[] = groups.map((g, i) => ({
    first: g.first,
    last: g.last,
    ...(!alone && i === groups.length - 1 ? { unlicensed: true as const } : {}),
  }));
  if (alone) parts.push({ unlicensed: true });
  return parts.map((p, part) => ({ part, of: parts.length, ...p }));
}
