/**
 * Audit Lambda entry point: configuration read once, clients created once per process (wiring in
 * functions/shared/compose.ts). The local stack's `auditor audit` invokes this same module.
 */

import { composeAuditHandler, observability, processClients } from '../shared/compose.ts';
import { loadAuditPartObjects, loadStoreConfig } from '../shared/config.ts';
import { loadEventsConfig } from '../shared/events-config.ts';

const config = loadStoreConfig();

export const handler = composeAuditHandler(processClients(), config, observability('audit'), {
  events: loadEventsConfig(),
  partObjects: loadAuditPartObjects(),
});
