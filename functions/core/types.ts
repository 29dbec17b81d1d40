/**
 * Shared vocabulary of the pure core. No AWS imports anywhere under functions/core.
 */

/** Additive usage counters. Every value is an exact integer ≤ 2^53 − 1. */
export interface Counts {
  requests: number;
  records: number;
  bytes: number;
  /** Requests whose status is ≥ 400. */
  errors: number;
}

/** Requests and records attributed to a recipient category. */
export interface CategoryCounts {
  requests: number;
  records: number;
  /**
   * The part of the above whose request declared an `on_behalf_of`, per declared organisation.
   * Requests without on_behalf_of are counted only in the totals.
   */
  orgs: Record<string, { requests: number; records: number }>;
}

/** Usage of one app on one UTC day (from one object, or summed over objects). */
export interface DayUsage extends Counts {
  app: string;
  /** UTC date, YYYY-MM-DD. */
  day: string;
  /** Per endpoint counters; keys are endpoint strings as logged. */
  endpoints: Record<string, Counts>;
  /** Per recipient category; only categories with at least one request appear. */
  categories: Record<string, CategoryCounts>;
}

/** A line that counted for nothing, with the reason. Line numbers are 1-based physical lines. */
export interface Reject {
  line: number;
  reason: string;
}

/** The recipients registry as loaded by `auditor recipients load` (SPEC §3). */
export type RecipientsRegistry = Record<string, { cidrs: string[]; organisations: string[] }>;

/** Identity of a stored log object version: the key and its version id or ETag. */
export interface SourceRef {
  key: string;
  /** S3 version id when the bucket is versioned, else the ETag (without quotes). */
  gen: string;
}
