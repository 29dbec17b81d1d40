/**
 * Ingest Lambda entry point: configuration read once, clients created once per process (wiring in
 * functions/shared/compose.ts). The embedded local stack imports this same module after pointing
 * the environment at its emulators.
 */

import { composeIngestHandler, observability, processClients } from '../shared/compose.ts';
import { loadIngestConfig } from '../shared/config.ts';

const config = loadIngestConfig();

export const handler = composeIngestHandler(processClients(), config, observability('ingest'));
