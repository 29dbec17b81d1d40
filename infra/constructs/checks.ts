/**
 * Prop checks shared by the constructs and by the context keys in infra/config.ts. A check returns
 * why a value is bad, or undefined; each rule is written once, here or next to the construct that
 * owns it, and reported under the name of whatever was given: a construct prop or a context key.
 */

/** Why `value` is not acceptable, or undefined when it is. */
export type Check<T> = (value: T) => string | undefined;

export const integer =
  (min: number, max: number): Check<number> =>
  (v) =>
    Number.isSafeInteger(v) && v >= min && v <= max ? undefined : `expected an integer from ${min} to ${max}`;

export const matching =
  (pattern: RegExp, expected: string): Check<string> =>
  (v) =>
    pattern.test(v) ? undefined : `expected ${expected}`;

export const oneOf =
  <T extends string>(values: readonly T[]): Check<string> =>
  (v) =>
    (values as readonly string[]).includes(v) ? undefined : `expected ${values.join(' or ')}`;

/** A calendar date YYYY-MM-DD. */
export const isoDate: Check<string> = (v) =>
  /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))
    ? undefined
    : 'expected a date YYYY-MM-DD';

/** An IANA time zone such as UTC or Europe/Berlin. */
export const timeZone: Check<string> = (v) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return undefined;
  } catch {
    return 'expected an IANA time zone such as UTC or Europe/Berlin';
  }
};

/** Throws `<label>: <why> (got <value>)` when `check` refuses `value`; the label names the prop or key. */
export function ensure<T>(label: string, value: T, check: Check<T>): void {
  const why = check(value);
  if (why !== undefined) throw new Error(`${label}: ${why} (got ${JSON.stringify(value)})`);
}

/** Runs `checks` over the props that are set (an unset optional prop takes its default): `<owner>: <prop>: …`. */
export function ensureProps<P extends object>(
  owner: string,
  props: P,
  checks: { [K in keyof P]?: Check<NonNullable<P[K]>> },
): void {
  for (const key of Object.keys(checks) as Array<keyof P & string>) {
    const value = props[key];
    const check = checks[key];
    if (value !== undefined && check) ensure(`${owner}: ${key}`, value as NonNullable<P[typeof key]>, check);
  }
}
