// Placeholder until the audit slice lands (issue 3): lets the CDK stack bundle its entry.
export const handler = async (): Promise<{ status: string }> => ({ status: 'not implemented' });
