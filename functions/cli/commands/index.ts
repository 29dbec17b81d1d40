/** Every CLI command, in the order `auditor --help` lists them. A new command adds its module here. */
import type { CommandModule } from '../command.ts';
import * as agreements from './agreements.ts';
import * as alerts from './alerts.ts';
import * as audit from './audit.ts';
import * as demo from './demo.ts';
import * as evidence from './evidence.ts';
import * as findingLifecycle from './finding-lifecycle.ts';
import * as findings from './findings.ts';
import * as recipients from './recipients.ts';
import * as reconcile from './reconcile.ts';
import * as reports from './reports.ts';
import * as reprocess from './reprocess.ts';
import * as statement from './statement.ts';
import * as upload from './upload.ts';
import * as usage from './usage.ts';

export const COMMANDS: readonly CommandModule[] = [
  demo,
  agreements,
  recipients,
  upload,
  reprocess,
  reconcile,
  audit,
  usage,
  reports,
  findings,
  evidence,
  alerts,
  findingLifecycle,
  statement,
];
