/**
 * CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs `npx tsx infra/app.ts`).
 * Works without AWS credentials: with no CDK_DEFAULT_ACCOUNT/REGION the stack is environment-agnostic.
 * Context keys: infra/config.ts (stackName and nag are read here, the rest by the stack).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { appConfig } from './config.ts';
import { UsageAuditorStack, type UsageAuditorStackProps } from './stack.ts';

export interface BuildAppOptions {
  appProps?: AppProps;
  stackProps?: UsageAuditorStackProps;
}

/** The app as the CLI synthesizes it: one stack, cdk-nag AwsSolutions checks unless context nag=false. */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: UsageAuditorStack } {
  const app = new App(options.appProps);
  const { stackName, nag } = appConfig(app);
  const account = process.env.CDK_DEPLOY_ACCOUNT ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEPLOY_REGION ?? process.env.CDK_DEFAULT_REGION;
  const stack = new UsageAuditorStack(app, stackName, {
    description: 'usage-auditor: API usage ingest, nightly licence compliance audit and reports',
    ...(account || region ? { env: { account, region } } : {}),
    ...options.stackProps,
  });
  if (nag) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { app, stack };
}

const invokedDirectly = (() => {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  buildApp().app.synth();
}
