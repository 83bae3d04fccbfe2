import type pg from 'pg';
import { countRows, deleteRow, inODataTransaction, insertRow, selectByKey, selectPage, updateRow, type ODataClient } from '../db/odata.js';
import { badQuery, ODataError } from './errors.js';
import { quoteIdent, type EntitySet, type ODataModel, type Property } from './model.js';
import { columnSql, filterSql, parseOrderBy, parseSelect, searchSql, SqlParams } from './query.js';

/** Salesforce Connect refuses OData responses over 8 MB; we stop a page short of that. */
export const SALESFORCE_MAX_RESPONSE_BYTES = 8_000_000;

export interface ODataServiceOptions {
  pool: pg.Pool;
  model: ODataModel;
  /** Rows per page when the client does not ask for fewer (Prefer: odata.maxpagesize). */
  pageSize: number;
  /** Largest response body. @default SALESFORCE_MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
  /** Each statement is cancelled after this. @default 20000 */
  statementTimeoutMs?: number;
}

export interface ReadRequest {
  set: EntitySet;
  /** Query options as received, decoded: `$filter`, `$top`, ... */
  options: Record<string, string>;
  /** From `Prefer: odata.maxpagesize=N`. */
  maxPageSize?: number;
  /** The entity set's absolute URL, for @odata.context and @odata.nextLink. */
  setUrl: string;
  serviceRoot: string;
}

export interface ReadResult {
  body: string;
  pageSize: number;
}

const KNOWN = new Set(['$filter', '$select', '$orderby', '$top', '$skip', '$count', '$search', '$skiptoken', '$format']);

function nonNegative(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2_147_483_647) throw badQuery(`${name} must be a whole number from 0`);
  return Number(text);
}

/** A value as OData JSON writes it: numbers as numbers, times as ISO 8601, dates as YYYY-MM-DD. */
function jsonValue(p: Property, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (p.type) {
    case 'Edm.Int64':
    case 'Edm.Decimal':
    case 'Edm.Double':
      return Number(v);
    case 'Edm.DateTimeOffset':
      return v instanceof Date ? v.toISOString() : String(v);
    default:
      return v;
  }
}

/** SELECT list: each configured column under a positional alias (c0, c1, ...), dates as text. */
function selectList(props: readonly Property[]): string {
  return props.map((p, i) => `${p.type === 'Edm.Date' ? `${quoteIdent(p.column)}::text` : columnSql(p)} AS c${i}`).join(', ');
}

function entity(props: readonly Property[], row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  props.forEach((p, i) => (out[p.name] = jsonValue(p, row[`c${i}`])));
  return out;
}

export class ODataService {
  constructor(private readonly options: ODataServiceOptions) {}

  get model(): ODataModel {
    return this.options.model;
  }

  /**
   * A page of an entity set. Server-driven paging: at most the page size (Prefer odata.maxpagesize,
   * capped by ODATA_PAGE_SIZE) and at most maxResponseBytes; when more rows remain, @odata.nextLink
   * repeats the query with $skiptoken = rows already served. Ordered by $orderby and then the key,
   * so pages never overlap or skip.
   */
  async read(req: ReadRequest): Promise<ReadResult> {
    const { set, options } = req;
    for (const name of Object.keys(options)) {
      if (name.startsWith('$') && !KNOWN.has(name)) throw badQuery(`${name} is not supported (supported: ${[...KNOWN].join(', ')})`);
    }
    if (options['$format'] !== undefined && !/^(json|application\/json)/.test(options['$format'])) throw badQuery('$format: only json is served');
    const count = options['$count'];
    if (count !== undefined && count !== 'true' && count !== 'false') throw badQuery('$count must be true or false');
    const top = nonNegative('$top', options['$top']);
    const skip = nonNegative('$skip', options['$skip']) ?? 0;
    const served = nonNegative('$skiptoken', options['$skiptoken']) ?? 0;
    const props = options['$select'] !== undefined ? parseSelect(options['$select'], set) : set.properties;
    const params = new SqlParams();
    const whereSql = matching(set, options, params);
    const order = options['$orderby'] !== undefined ? parseOrderBy(options['$orderby'], set) : [];
    if (!order.some((o) => o.property === set.key)) order.push({ property: set.key, descending: false });
    const pageSize = Math.max(1, Math.min(this.options.pageSize, req.maxPageSize ?? Number.POSITIVE_INFINITY));
    const remaining = top === undefined ? Number.POSITIVE_INFINITY : Math.max(0, top - served);
    const limit = Math.min(pageSize, remaining);
    const countParams = [...params.values];
    const offset = params.add(skip + served, 'Edm.Int64');
    const fetch = params.add(limit + 1, 'Edm.Int64');
    const orderBy = order.map((o) => `${columnSql(o.property)} ${o.descending ? 'DESC' : 'ASC'} NULLS ${o.descending ? 'FIRST' : 'LAST'}`).join(', ');
    const { rows, total } = await this.readOnly(async (client) => {
      const page = limit === 0 ? [] : await selectPage(client, { select: selectList(props), table: set.tableSql, whereSql, orderBy, offset, limit: fetch }, params.values);
      const counted = count === 'true' ? await countRows(client, set.tableSql, whereSql, countParams) : undefined;
      return { rows: page, total: counted };
    });
    // Built by hand so a page stops before the response limit, wherever the rows are wide.
    const maxBytes = this.options.maxResponseBytes ?? SALESFORCE_MAX_RESPONSE_BYTES;
    const context = `${req.serviceRoot}$metadata#${set.name}${options['$select'] !== undefined ? `(${props.map((p) => p.name).join(',')})` : ''}`;
    const head = `{"@odata.context":${JSON.stringify(context)}${total !== undefined ? `,"@odata.count":${total}` : ''},"value":[`;
    const reserve = 2048; // the nextLink and the closing brackets
    const parts: string[] = [];
    let bytes = Buffer.byteLength(head) + reserve;
    let taken = 0;
    for (const row of rows.slice(0, limit)) {
      const json = JSON.stringify(entity(props, row));
      const size = Buffer.byteLength(json) + 1;
      if (taken > 0 && bytes + size > maxBytes) break;
      parts.push(json);
      bytes += size;
      taken++;
    }
    const more = taken < rows.length && served + taken < (top ?? Number.POSITIVE_INFINITY);
    let tail = ']';
    if (more) {
      const next = new URLSearchParams();
      for (const [k, v] of Object.entries(options)) if (k !== '$skiptoken') next.set(k, v);
      next.set('$skiptoken', String(served + taken));
      tail += `,"@odata.nextLink":${JSON.stringify(`${req.setUrl}?${next.toString().replace(/%24/g, '$')}`)}`;
    }
    return { body: `${head}${parts.join(',')}${tail}}`, pageSize };
  }

  /** `/Set/$count`: the number of rows matching $filter and $search. */
  async count(set: EntitySet, options: Record<string, string>): Promise<number> {
    const params = new SqlParams();
    const whereSql = matching(set, options, params);
    return this.readOnly((c) => countRows(c, set.tableSql, whereSql, params.values));
  }

  /** One row by key, or undefined. */
  async get(set: EntitySet, key: string): Promise<Record<string, unknown> | undefined> {
    const params = new SqlParams();
    const k = params.add(key, set.key.type);
    const row = await this.readOnly((c) => selectByKey(c, { select: selectList(set.properties), table: set.tableSql, keyColumn: columnSql(set.key), key: k }, params.values));
    return row ? entity(set.properties, row) : undefined;
  }

  async create(set: EntitySet, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    assertWritable(set, 'create');
    const params = new SqlParams();
    const values = this.values(set, body, params, true);
    if (values.length === 0) throw badQuery('give at least one property');
    const row = await this.write((c) =>
      insertRow(c, { table: set.tableSql, columns: values.map((v) => quoteIdent(v.property.column)), values: values.map((v) => v.sql), returning: selectList(set.properties) }, params.values),
    );
    return entity(set.properties, row!);
  }

  /** PATCH/PUT: the given properties of the row with this key. False when there is no such row. */
  async update(set: EntitySet, key: string, body: Record<string, unknown>): Promise<boolean> {
    assertWritable(set, 'update');
    const params = new SqlParams();
    const values = this.values(set, body, params, false);
    if (values.length === 0) return (await this.get(set, key)) !== undefined;
    const k = params.add(key, set.key.type);
    const changed = await this.write((c) =>
      updateRow(c, { table: set.tableSql, set: values.map((v) => `${quoteIdent(v.property.column)} = ${v.sql}`), keyColumn: columnSql(set.key), key: k }, params.values),
    );
    return changed > 0;
  }

  async delete(set: EntitySet, key: string): Promise<boolean> {
    assertWritable(set, 'delete');
    const params = new SqlParams();
    const k = params.add(key, set.key.type);
    return (await this.write((c) => deleteRow(c, { table: set.tableSql, keyColumn: columnSql(set.key), key: k }, params.values))) > 0;
  }

  private values(set: EntitySet, body: Record<string, unknown>, params: SqlParams, withKey: boolean): { property: Property; sql: string }[] {
    const out: { property: Property; sql: string }[] = [];
    for (const [name, value] of Object.entries(body)) {
      if (name.startsWith('@')) continue; // @odata.type and other annotations
      const property = set.byName.get(name);
      if (!property) throw badQuery(`${set.name} has no property ${name.slice(0, 60)}`);
      if (property === set.key && !withKey) continue;
      if (value !== null && typeof value === 'object') throw badQuery(`${name}: give a single value`);
      if (value === null && !property.nullable) throw badQuery(`${name} cannot be null`);
      const bad = value !== null && (property.type === 'Edm.Boolean' ? typeof value !== 'boolean' : property.type === 'Edm.String' ? typeof value !== 'string' : false);
      if (bad) throw badQuery(`${name} must be ${property.type === 'Edm.Boolean' ? 'true or false' : 'text'}`);
      out.push({ property, sql: params.add(value === null ? null : String(value), property.type) });
    }
    return out;
  }

  /** A read-only transaction with a statement timeout: whatever a query says, it cannot write or run forever. */
  private readOnly<T>(fn: (client: ODataClient) => Promise<T>): Promise<T> {
    return inODataTransaction(this.options.pool, 'read', this.options.statementTimeoutMs ?? 20_000, mapPgError, fn);
  }

  private write<T>(fn: (client: ODataClient) => Promise<T>): Promise<T> {
    return inODataTransaction(this.options.pool, 'write', this.options.statementTimeoutMs ?? 20_000, mapPgError, fn);
  }
}

/** A value Postgres could not take (a malformed date, a number out of range, a duplicate key) is the caller's mistake. */
function mapPgError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (code.startsWith('22')) return badQuery('a value in the request is not valid for its property (a date, a number out of range, or text too long)');
  if (code === '23505') return new ODataError(409, 'Conflict', 'a row with this key already exists');
  if (code === '23502' || code === '23503' || code === '23514') return badQuery('the row breaks a rule of the table (a required value, a reference or a check)');
  if (code === '57014') return new ODataError(503, 'Timeout', 'the query took too long; narrow it with $filter or ask for fewer rows');
  return err;
}

/** `$filter` and `$search` as one WHERE clause (empty or starting with ` WHERE `), parameters added to `params`. */
function matching(set: EntitySet, options: Record<string, string>, params: SqlParams): string {
  const where: string[] = [];
  if (options['$filter'] !== undefined) where.push(filterSql(options['$filter'], set, params));
  if (options['$search'] !== undefined) where.push(searchSql(options['$search'], set, params));
  return where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
}

const REFUSED = { create: 'inserts', update: 'updates', delete: 'deletes' } as const;

/** A 405 unless ODATA_CONFIG made the set writable for this operation. */
export function assertWritable(set: EntitySet, operation: keyof typeof REFUSED): void {
  if (!set.writable[operation]) throw new ODataError(405, 'NotAllowed', `${set.name} does not accept ${REFUSED[operation]} (set "writable" in ODATA_CONFIG)`);
}
