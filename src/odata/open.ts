import type pg from 'pg';
import type { ODataConfig } from '../config.js';
import { buildModel, readODataFile } from './model.js';
import { ODataService } from './service.js';

/** Reads ODATA_CONFIG and checks its tables and columns against the database: a mistake stops start-up. */
export async function openODataService(config: ODataConfig, pool: pg.Pool): Promise<ODataService> {
  const model = await buildModel(readODataFile(config.file), pool);
  return new ODataService({ pool, model, pageSize: config.pageSize });
}
