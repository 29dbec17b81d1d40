#!/usr/bin/env node
// `auditor` / `npx auditor`: runs the TypeScript CLI through tsx, no build step.
// The AWS SDK's Node-version notice is for library users, not for people at a terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
await import('../functions/cli/main.ts');
