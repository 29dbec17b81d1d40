/** A request the audit refuses (a bad date, range or step event; a plan one execution cannot hold): never retried. */
export class AuditRequestError extends Error {
  override name = 'AuditRequestError';
}
