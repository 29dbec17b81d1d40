/**
 * PLACEHOLDER so that the stack bundles (infra/stack.ts builds the reconcile function from this
 * entry). The real handler comes with the ingest8 branch and replaces this file at merge.
 */
export const handler = async () => ({});
