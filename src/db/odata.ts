import type pg from 'pg';
import { withTransaction, type Queryable } from './pool.js';

/**
 * The statements the OData service runs. src/odata/ turns an OData request into SQL fragments (a
 * select list, a WHERE, an ORDER BY: identifiers quoted, every value a parameter); the statements
 * around them, and the transaction each runs in, are here.
 */

export interface ColumnInfo {
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: string;
  character_maximum_length: number | null;
}

/** The columns of one table, as information_schema describes them (none: no table, or no access). */
export async function tableColumns(db: Queryable, schema: string, table: string): Promise<ColumnInfo[]> {
  const { rows } = await db.query<ColumnInfo>(
    `SELECT column_name, data_type, udt_name, is_nullable, character_maximum_length FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
    [schema, table],
  );
  return rows;
}

/** A client inside an OData transaction. */
export type ODataClient = Pick<pg.PoolClient, 'query'>;
type Row = Record<string, unknown>;

/**
 * Runs fn in a transaction (read-only for reads) whose statements are cancelled after timeoutMs:
 * whatever a query says, it cannot write when it should only read, or run for ever. Errors are
 * passed through mapError after the rollback.
 */
export async function inODataTransaction<T>(pool: pg.Pool, mode: 'read' | 'write', timeoutMs: number, mapError: (err: unknown) => unknown, fn: (client: ODataClient) => Promise<T>): Promise<T> {
  try {
    // withTransaction keeps a listener on the client: a connection lost mid-request must not crash the process.
    return await withTransaction(pool, async (client) => {
      if (mode === 'read') await client.query('SET TRANSACTION READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
      return fn(client);
    });
  } catch (err) {
    throw mapError(err);
  }
}

/** `whereSql` is empty or starts with ` WHERE `. */
export async function selectPage(c: ODataClient, s: { select: string; table: string; whereSql: string; orderBy: string; offset: string; limit: string }, values: unknown[]): Promise<Row[]> {
  return (await c.query<Row>(`SELECT ${s.select} FROM ${s.table}${s.whereSql} ORDER BY ${s.orderBy} OFFSET ${s.offset} LIMIT ${s.limit}`, values)).rows;
}

export async function countRows(c: ODataClient, table: string, whereSql: string, values: unknown[]): Promise<number> {
  const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}${whereSql}`, values);
  return Number(rows[0]?.n ?? 0);
}

export async function selectByKey(c: ODataClient, s: { select: string; table: string; keyColumn: string; key: string }, values: unknown[]): Promise<Row | undefined> {
  return (await c.query<Row>(`SELECT ${s.select} FROM ${s.table} WHERE ${s.keyColumn} = ${s.key}`, values)).rows[0];
}

export async function insertRow(c: ODataClient, s: { table: string; columns: string[]; values: string[]; returning: string }, values: unknown[]): Promise<Row | undefined> {
  return (await c.query<Row>(`INSERT INTO ${s.table} (${s.columns.join(', ')}) VALUES (${s.values.join(', ')}) RETURNING ${s.returning}`, values)).rows[0];
}

/** The number of rows changed (0 or 1). */
export async function updateRow(c: ODataClient, s: { table: string; set: string[]; keyColumn: string; key: string }, values: unknown[]): Promise<number> {
  return (await c.query(`UPDATE ${s.table} SET ${s.set.join(', ')} WHERE ${s.keyColumn} = ${s.key}`, values)).rowCount ?? 0;
}

export async function deleteRow(c: ODataClient, s: { table: string; keyColumn: string; key: string }, values: unknown[]): Promise<number> {
  return (await c.query(`DELETE FROM ${s.table} WHERE ${s.keyColumn} = ${s.key}`, values)).rowCount ?? 0;
}
