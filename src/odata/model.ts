import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { tableColumns } from '../db/odata.js';
import type { Queryable } from '../db/pool.js';
import { ConfigError, describeError } from '../errors.js';

/**
 * The Edm primitive types forcehook serves: the ones the Salesforce Connect OData 4.0 adapter maps to
 * external object fields (text, number, checkbox, date/time, date).
 */
export type EdmType = 'Edm.String' | 'Edm.Int16' | 'Edm.Int32' | 'Edm.Int64' | 'Edm.Decimal' | 'Edm.Double' | 'Edm.Boolean' | 'Edm.DateTimeOffset' | 'Edm.Date';

/** How a bound parameter is cast for each type: a fixed list, never text from a request. */
export const PG_CAST: Record<EdmType, string> = {
  'Edm.String': 'text',
  'Edm.Int16': 'smallint',
  'Edm.Int32': 'integer',
  'Edm.Int64': 'bigint',
  'Edm.Decimal': 'numeric',
  'Edm.Double': 'double precision',
  'Edm.Boolean': 'boolean',
  'Edm.DateTimeOffset': 'timestamptz',
  'Edm.Date': 'date',
};

/** Postgres column types (information_schema.columns.data_type / udt_name) -> Edm. */
const FROM_PG: Record<string, EdmType> = {
  text: 'Edm.String',
  'character varying': 'Edm.String',
  character: 'Edm.String',
  citext: 'Edm.String',
  uuid: 'Edm.String',
  json: 'Edm.String',
  jsonb: 'Edm.String',
  smallint: 'Edm.Int16',
  integer: 'Edm.Int32',
  bigint: 'Edm.Int64',
  numeric: 'Edm.Decimal',
  real: 'Edm.Double',
  'double precision': 'Edm.Double',
  boolean: 'Edm.Boolean',
  'timestamp with time zone': 'Edm.DateTimeOffset',
  'timestamp without time zone': 'Edm.DateTimeOffset',
  date: 'Edm.Date',
};

export interface Property {
  /** The OData property name (what Salesforce shows as the external field's API name, plus __c). */
  name: string;
  column: string;
  type: EdmType;
  nullable: boolean;
  /** character_maximum_length, when the column has one. */
  maxLength: number | undefined;
  /** The column's SQL read as text first (json, uuid): compared and searched as text. */
  asText: boolean;
}

export interface EntitySet {
  name: string;
  /** Quoted, schema-qualified table name, built from configuration only. */
  tableSql: string;
  key: Property;
  properties: Property[];
  byName: ReadonlyMap<string, Property>;
  search: Property[];
  writable: { create: boolean; update: boolean; delete: boolean };
}

export interface ODataModel {
  namespace: string;
  sets: ReadonlyMap<string, EntitySet>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

const columnSpec = z.union([
  z.string().regex(IDENT, 'a column name: letters, digits and _'),
  z.object({
    column: z.string().regex(IDENT, 'a column name: letters, digits and _'),
    name: z.string().regex(NAME, 'a property name: a letter, then letters, digits and _ (40 at most)').optional(),
  }).strict(),
]);

const writableSpec = z.union([z.boolean(), z.object({ create: z.boolean().default(false), update: z.boolean().default(false), delete: z.boolean().default(false) }).strict()]);

/** The file ODATA_CONFIG points to. */
const odataFileSchema = z.object({
  namespace: z.string().regex(NAME).default('forcehook'),
  entitySets: z
    .array(
      z.object({
        /** The entity set name Salesforce sees as a table: `Invoices` becomes `Invoices__x`. */
        name: z.string().regex(NAME, 'an entity set name: a letter, then letters, digits and _ (40 at most)'),
        /** `table` or `schema.table`. */
        table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, 'table or schema.table'),
        /** The column that identifies a row (Salesforce's External ID). */
        key: z.string().regex(IDENT),
        /** The columns served, in order; the key is added if left out. Only these can be selected, filtered, sorted or written. */
        columns: z.array(columnSpec).min(1),
        /** Columns $search looks in (text columns); default: every text column served. */
        search: z.array(z.string().regex(IDENT)).optional(),
        /** Read-only unless set: true for create, update and delete, or each one. */
        writable: writableSpec.default(false),
      }).strict(),
    )
    .min(1),
}).strict();

export type ODataFile = z.infer<typeof odataFileSchema>;

export function readODataFile(path: string): ODataFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`ODATA_CONFIG: cannot read ${path} as JSON (${describeError(err).message})`);
  }
  const parsed = odataFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`ODATA_CONFIG: ${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const names = parsed.data.entitySets.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new ConfigError(`ODATA_CONFIG: entity set ${twice} is defined twice`);
  return parsed.data;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Turns the file into the served model, with each column's type read from information_schema: a
 * table or column that does not exist, or of a type we cannot serve, stops start-up naming it.
 */
export async function buildModel(file: ODataFile, db: Queryable): Promise<ODataModel> {
  const sets = new Map<string, EntitySet>();
  for (const spec of file.entitySets) {
    const [schema, table] = spec.table.includes('.') ? (spec.table.split('.') as [string, string]) : ['public', spec.table];
    const rows = await tableColumns(db, schema, table);
    if (rows.length === 0) throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: no table ${schema}.${table} (or no access to it)`);
    const columns = new Map(rows.map((r) => [r.column_name, r]));
    const wanted = spec.columns.map((c) => (typeof c === 'string' ? { column: c, name: c } : { column: c.column, name: c.name ?? c.column }));
    if (!wanted.some((c) => c.column === spec.key)) wanted.unshift({ column: spec.key, name: spec.key });
    const properties: Property[] = wanted.map(({ column, name }) => {
      const info = columns.get(column);
      if (!info) throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: table ${schema}.${table} has no column ${column}`);
      if (!NAME.test(name)) throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: ${name} cannot be a property name; give the column a "name"`);
      const type = FROM_PG[info.data_type] ?? FROM_PG[info.udt_name];
      if (!type) throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: column ${column} is ${info.data_type}, which is not served (text, numbers, boolean, timestamps, date, uuid, json)`);
      return { name, column, type, nullable: info.is_nullable === 'YES' && column !== spec.key, maxLength: info.character_maximum_length ?? undefined, asText: ['uuid', 'json', 'jsonb', 'citext'].includes(info.udt_name) };
    });
    const byName = new Map(properties.map((p) => [p.name, p]));
    if (byName.size !== properties.length) throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: two columns have the same property name`);
    const key = properties.find((p) => p.column === spec.key)!;
    const search = spec.search
      ? spec.search.map((c) => {
          const p = properties.find((x) => x.column === c);
          if (!p || p.type !== 'Edm.String') throw new ConfigError(`ODATA_CONFIG: entity set ${spec.name}: search column ${c} must be a served text column`);
          return p;
        })
      : properties.filter((p) => p.type === 'Edm.String');
    const w = spec.writable;
    sets.set(spec.name, {
      name: spec.name,
      tableSql: `${quoteIdent(schema)}.${quoteIdent(table)}`,
      key,
      properties,
      byName,
      search,
      writable: typeof w === 'boolean' ? { create: w, update: w, delete: w } : w,
    });
  }
  return { namespace: file.namespace, sets };
}
