/**
 * Validation of one log record (SPEC §2) from a parsed JSON line or a CSV row. Each check returns
 * one clear reason naming the field and the problem; the first failing field (in table order)
 * decides the reason.
 */
import { isValidIp } from './recipients.ts';
import { APP_ID_RE } from './support.ts';
import { checkEpochMs, dayOfEpochMs, parseIsoTimestamp, quote } from './timestamps.ts';

/** A valid record, reduced to what usage needs. Reused between lines (no allocation per line). */
export interface UsageRecord {
  /** Usage day: days since 1970-01-01 of the instant's UTC date. */
  day: number;
  app: string;
  endpoint: string;
  status: number;
  records: number;
  bytes: number;
  clientIp: string | undefined;
  org: string | undefined;
  /**
   * The request_id (non-empty): on the fast paths its raw UTF-8 bytes are line[ridStart, ridEnd) of
   * the line just read (requestId undefined); on the general paths it is `requestId` (ridStart -1).
   * Neither when absent, null or empty.
   */
  ridStart: number;
  ridEnd: number;
  requestId: string | undefined;
}

export function newRecord(): UsageRecord {
  return {
    day: 0,
    app: '',
    endpoint: '',
    status: 0,
    records: 0,
    bytes: 0,
    clientIp: undefined,
    org: undefined,
    ridStart: -1,
    ridEnd: -1,
    requestId: undefined,
  };
}

export const MAX_ENDPOINT_LENGTH = 2048;
export const MAX_ORG_LENGTH = 256;
const CSV_UINT = /^[0-9]{1,16}$/;
const CSV_EPOCH = /^[0-9]{1,16}$/;

/** CSV column indexes of the known fields (-1 when the header lacks the column). */
export interface CsvColumns {
  timestamp: number;
  app_id: number;
  endpoint: number;
  status: number;
  records: number;
  bytes: number;
  client_ip: number;
  on_behalf_of: number;
  request_id: number;
}

export const FIELDS = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
] as const;
export const REQUIRED_FIELDS = ['timestamp', 'app_id', 'endpoint', 'status'] as const;

const STATUS_HINT = 'status: expected an integer 100–599, got';
const INT_HINT = 'expected an integer 0–9007199254740991, got';

/** How a JSON value is named in a reason: `"200" (string)`, `true (boolean)`, `an array`. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `${quote(value)} (string)`;
    case 'number':
      return String(value);
    case 'boolean':
      return `${value} (boolean)`;
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return typeof value;
  }
}

/** Validate a parsed JSON line into `out`. Returns a reject reason, or undefined when valid. */
export function validateJsonRecord(value: unknown, out: UsageRecord): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected a JSON object, got ${describe(value)}`;
  }
  const o = value as Record<string, unknown>;

  const ts = o.timestamp;
  let ms: number | string;
  if (typeof ts === 'string') {
    if (ts === '') return 'missing field timestamp';
    ms = parseIsoTimestamp(ts);
    if (typeof ms === 'string' && isDigits(ts)) {
      ms = `timestamp: epoch milliseconds must be a JSON number, got ${describe(ts)}`;
    }
  } else if (typeof ts === 'number') ms = checkEpochMs(ts);
  else if (ts === undefined || ts === null) return 'missing field timestamp';
  else return `timestamp: expected an ISO-8601 string or epoch milliseconds, got ${describe(ts)}`;
  if (typeof ms === 'string') return ms;

  const app = o.app_id;
  if (typeof app !== 'string') {
    return app === undefined || app === null
      ? 'missing field app_id'
      : `app_id: expected a string, got ${describe(app)}`;
  }
  if (!APP_ID_RE.test(app)) return appIdReason(app);

  const endpoint = o.endpoint;
  if (typeof endpoint !== 'string') {
    return endpoint === undefined || endpoint === null
      ? 'missing field endpoint'
      : `endpoint: expected a string, got ${describe(endpoint)}`;
  }
  const endpointProblem = endpointReason(endpoint);
  if (endpointProblem) return endpointProblem;

  const status = o.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    return status === undefined || status === null
      ? 'missing field status'
      : `${STATUS_HINT} ${describe(status)}`;
  }

  let records = o.records;
  if (records === undefined || records === null) records = 0;
  else if (typeof records !== 'number' || !Number.isSafeInteger(records) || records < 0) {
    return `records: ${INT_HINT} ${describe(records)}`;
  }
  let bytes = o.bytes;
  if (bytes === undefined || bytes === null) bytes = 0;
  else if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    return `bytes: ${INT_HINT} ${describe(bytes)}`;
  }

  let ip = o.client_ip;
  if (ip === null || ip === '') ip = undefined;
  else if (ip !== undefined) {
    if (typeof ip !== 'string') return `client_ip: expected an IPv4 or IPv6 address, got ${describe(ip)}`;
    if (!isValidIp(ip)) return `client_ip: expected an IPv4 or IPv6 address, got ${quote(ip)}`;
  }

  let org = o.on_behalf_of;
  if (org === null || org === '') org = undefined;
  else if (org !== undefined) {
    if (typeof org !== 'string') return `on_behalf_of: expected a string, got ${describe(org)}`;
    if (org.length > MAX_ORG_LENGTH) return `on_behalf_of: longer than ${MAX_ORG_LENGTH} characters`;
  }

  const requestId = o.request_id;
  if (requestId !== undefined && requestId !== null && typeof requestId !== 'string') {
    return `request_id: expected a string, got ${describe(requestId)}`;
  }

  out.day = dayOfEpochMs(ms) as number;
  out.app = app;
  out.endpoint = endpoint;
  out.status = status;
  out.records = records as number;
  out.bytes = bytes as number;
  out.clientIp = ip as string | undefined;
  out.org = org as string | undefined;
  out.ridStart = -1;
  out.requestId = requestId === '' || requestId === null ? undefined : (requestId as string | undefined);
  return undefined;
}

/** Validate a CSV row (already checked for its field count) into `out`. Empty value = absent. */
export function validateCsvRecord(fields: string[], cols: CsvColumns, out: UsageRecord): string | undefined {
  const ts = cols.timestamp < 0 ? '' : (fields[cols.timestamp] ?? '');
  if (ts === '') return 'missing field timestamp';
  let ms: number | string;
  if (CSV_EPOCH.test(ts)) ms = checkEpochMs(Number(ts));
  else ms = parseIsoTimestamp(ts);
  if (typeof ms === 'string') return ms;

  const app = cols.app_id < 0 ? '' : (fields[cols.app_id] ?? '');
  if (app === '') return 'missing field app_id';
  if (!APP_ID_RE.test(app)) return appIdReason(app);

  const endpoint = cols.endpoint < 0 ? '' : (fields[cols.endpoint] ?? '');
  if (endpoint === '') return 'missing field endpoint';
  const endpointProblem = endpointReason(endpoint);
  if (endpointProblem) return endpointProblem;

  const statusText = cols.status < 0 ? '' : (fields[cols.status] ?? '');
  if (statusText === '') return 'missing field status';
  const status = statusText.length === 3 ? Number(statusText) : Number.NaN;
  if (!/^[0-9]{3}$/.test(statusText) || status < 100 || status > 599)
    return `${STATUS_HINT} ${quote(statusText)}`;

  const records = csvUint(fields, cols.records);
  if (typeof records === 'string') return `records: ${INT_HINT} ${quote(records)}`;
  const bytes = csvUint(fields, cols.bytes);
  if (typeof bytes === 'string') return `bytes: ${INT_HINT} ${quote(bytes)}`;

  const ipText = cols.client_ip < 0 ? '' : (fields[cols.client_ip] ?? '');
  if (ipText !== '' && !isValidIp(ipText))
    return `client_ip: expected an IPv4 or IPv6 address, got ${quote(ipText)}`;

  const org = cols.on_behalf_of < 0 ? '' : (fields[cols.on_behalf_of] ?? '');
  if (org.length > MAX_ORG_LENGTH) return `on_behalf_of: longer than ${MAX_ORG_LENGTH} characters`;

  out.day = dayOfEpochMs(ms) as number;
  out.app = app;
  out.endpoint = endpoint;
  out.status = status;
  out.records = records;
  out.bytes = bytes;
  out.clientIp = ipText === '' ? undefined : ipText;
  out.org = org === '' ? undefined : org;
  const requestId = cols.request_id < 0 ? '' : (fields[cols.request_id] ?? '');
  out.ridStart = -1;
  out.requestId = requestId === '' ? undefined : requestId;
  return undefined;
}

/** A CSV integer ≥ 0 (absent = 0), or the offending text. */
function csvUint(fields: string[], col: number): number | string {
  const text = col < 0 ? '' : (fields[col] ?? '');
  if (text === '') return 0;
  if (!CSV_UINT.test(text)) return text;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : text;
}

function appIdReason(app: string): string {
  return `app_id: expected 1–128 characters of A–Z a–z 0–9 . _ : -, got ${quote(app)}`;
}

function endpointReason(endpoint: string): string | undefined {
  if (endpoint === '') return 'endpoint: empty';
  if (endpoint.length > MAX_ENDPOINT_LENGTH) return `endpoint: longer than ${MAX_ENDPOINT_LENGTH} characters`;
  return undefined;
}

function isDigits(s: string): boolean {
  return /^-?[0-9]+$/.test(s);
}
