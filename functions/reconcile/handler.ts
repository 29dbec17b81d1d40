/**
 * Reconcile Lambda entry point (daily schedule): configuration read once, clients created once per
 * process (wiring in functions/shared/compose.ts).
 */

import { composeReconcileHandler, observability, processClients } from '../shared/compose.ts';
import { loadReconcileConfig } from '../shared/config.ts';

const config = loadReconcileConfig();

export const handler = composeReconcileHandler(processClients(), config, observability('reconcile'));
