import { defaultParser } from '@odata/parser';
import { badQuery } from './errors.js';
import { PG_CAST, quoteIdent, type EdmType, type EntitySet, type Property } from './model.js';

/**
 * OData query options -> one parameterized SQL statement. `$filter` and `$orderby` are parsed by
 * @odata/parser (the OData 4.0 ABNF); the syntax tree is then walked here against the entity set's
 * configured properties only: a name that is not configured is refused, identifiers in the SQL come
 * from configuration (quoted), and every value from the request is a `$n` parameter.
 */

/** The subset of the parser's syntax tree we read. */
interface Token {
  type: string;
  value: unknown;
  raw?: string;
}

export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown, type: EdmType): string {
    this.values.push(value);
    return `$${this.values.length}::${PG_CAST[type]}`;
  }
}

type Typed = { sql: string; type: EdmType | 'null'; property?: Property; literal?: { raw: string; type: string } };

const MAX_EXPRESSION_LENGTH = 8000;
/** Nested parentheses (and method calls) of an expression; long `or` chains are not nesting and do not count. */
const MAX_PAREN_DEPTH = 32;

/**
 * Refuses an expression ($filter, $orderby) too long or too deeply nested before the parser sees
 * it: the parser's time grows with the square of the nesting, and it recurses.
 */
function guardExpression(option: string, text: string): void {
  if (text.length > MAX_EXPRESSION_LENGTH) throw badQuery(`${option} is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  if (parenDepth(text) > MAX_PAREN_DEPTH) throw badQuery(`${option} is nested too deeply (more than ${MAX_PAREN_DEPTH} parentheses)`);
}

/** The deepest nesting of parentheses outside string literals. */
function parenDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") i = closingQuote(text, i) - 1;
    else if (c === '(') deepest = Math.max(deepest, ++depth);
    else if (c === ')') depth--;
  }
  return deepest;
}

/** `$filter` -> a SQL boolean expression (parameters added to `params`). */
export function filterSql(text: string, set: EntitySet, params: SqlParams): string {
  guardExpression('$filter', text);
  const folded = foldBooleanMethodComparisons(text);
  let ast: Token;
  try {
    ast = defaultParser.filter(folded) as unknown as Token;
  } catch (err) {
    throw badQuery(`$filter is not a valid OData expression (${err instanceof Error ? err.message : 'syntax error'})`);
  }
  const out = expr(ast, set, params);
  if (out.type !== 'Edm.Boolean') throw badQuery('$filter must be a true/false expression, such as Name eq \'Acme\'');
  return out.sql;
}

const BOOLEAN_METHODS = /(contains|startswith|endswith|substringof)\(/y;

/**
 * Salesforce Connect writes its default search as `contains(Name,'Acme') eq true` (see "OData 4.0
 * and 4.01 Query Options" in Salesforce Help), which @odata/parser (like the jaystack parser it
 * forked) does not accept: a boolean function call compared with a boolean literal. Folded here
 * into `contains(...)` / `not contains(...)` before parsing, stepping over quoted text so a literal
 * is never changed.
 */
export function foldBooleanMethodComparisons(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = closingQuote(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    BOOLEAN_METHODS.lastIndex = i;
    const starts = (i === 0 || !/[A-Za-z0-9_.]/.test(text[i - 1]!)) && BOOLEAN_METHODS.test(text);
    if (!starts) {
      out += c;
      i++;
      continue;
    }
    const close = closingParen(text, text.indexOf('(', i));
    if (close < 0) return text;
    const call = text.slice(i, close + 1);
    const tail = /^\s+eq\s+(true|false)(?![A-Za-z0-9_])/.exec(text.slice(close + 1));
    if (tail) {
      // Parenthesized: the parser's `not` takes everything after it, `and`/`or` included.
      out += tail[1] === 'true' ? call : `(not ${call})`;
      i = close + 1 + tail[0].length;
    } else {
      out += call.slice(0, call.indexOf('(') + 1);
      i += call.indexOf('(') + 1;
    }
  }
  return out;
}

/** The index just past the string literal opening at `start` ('' escapes a quote). */
function closingQuote(text: string, start: number): number {
  let j = start + 1;
  while (j < text.length) {
    if (text[j] === "'") {
      if (text[j + 1] === "'") j += 2;
      else return j + 1;
    } else j++;
  }
  return text.length;
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    const c = text[j];
    if (c === "'") j = closingQuote(text, j) - 1;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j;
  }
  return -1;
}

const COMPARE: Record<string, string> = {
  EqualsExpression: '=',
  NotEqualsExpression: '<>',
  LesserThanExpression: '<',
  LesserOrEqualsExpression: '<=',
  GreaterThanExpression: '>',
  GreaterOrEqualsExpression: '>=',
};

function expr(token: Token, set: EntitySet, params: SqlParams): Typed {
  const v = token.value as Record<string, unknown>;
  switch (token.type) {
    case 'CommonExpression':
    case 'BoolCommonExpression':
      return expr(token.value as Token, set, params);
    case 'BoolParenExpression':
    case 'ParenExpression': {
      // A literal in parentheses is no longer a bare parameter: it is not re-bound to a property's type.
      const { literal: _literal, ...inner } = expr(token.value as Token, set, params);
      return { ...inner, sql: `(${inner.sql})` };
    }
    case 'AndExpression':
    case 'OrExpression': {
      const left = bool(expr(v['left'] as Token, set, params));
      const right = bool(expr(v['right'] as Token, set, params));
      return { sql: `(${left} ${token.type === 'AndExpression' ? 'AND' : 'OR'} ${right})`, type: 'Edm.Boolean' };
    }
    case 'NotExpression': {
      // The parser lets `not` take everything after it (`not A and B` as not (A and B)), where OData
      // binds it to A alone: rather than answer different rows, ask for parentheses.
      let operand = token.value as Token;
      while (operand.type === 'CommonExpression' || operand.type === 'BoolCommonExpression') operand = operand.value as Token;
      if (operand.type === 'AndExpression' || operand.type === 'OrExpression') {
        throw badQuery('$filter: put what `not` applies to in parentheses, e.g. (not Flag) and Qty eq 1, or not (Flag and Qty eq 1)');
      }
      return { sql: `(NOT ${bool(expr(token.value as Token, set, params))})`, type: 'Edm.Boolean' };
    }
    case 'FirstMemberExpression':
    case 'MemberExpression':
    case 'PropertyPathExpression': {
      const property = propertyOf(token, set);
      return { sql: columnSql(property), type: property.type, property };
    }
    case 'Literal':
      return literal(token, params);
    case 'MethodCallExpression':
      return method(v['method'] as string, (v['parameters'] as Token[]) ?? [], set, params);
    default: {
      const op = COMPARE[token.type];
      if (op) return compare(op, expr(v['left'] as Token, set, params), expr(v['right'] as Token, set, params), params);
      throw badQuery(`$filter: ${token.raw ?? token.type} is not supported here (use eq, ne, gt, ge, lt, le, and, or, not, contains, startswith, endswith)`);
    }
  }
}

function bool(t: Typed): string {
  if (t.type !== 'Edm.Boolean') throw badQuery('$filter: and/or/not need true/false expressions on both sides');
  return t.sql;
}

/** A property reference: the configured column, never the request's text. */
function propertyOf(token: Token, set: EntitySet): Property {
  let t: Token | undefined = token;
  for (let i = 0; t && i < 8; i++) {
    if (t.type === 'ODataIdentifier') {
      const name = (t.value as { name?: string }).name ?? '';
      const p = set.byName.get(name);
      if (!p) throw badQuery(`${set.name} has no property ${name.slice(0, 60)}`);
      return p;
    }
    const next: unknown = t.value;
    // A path (Customer/Name) or anything else that is not a plain name: refused below.
    if (next === null || typeof next !== 'object' || 'current' in next) break;
    t = next as Token;
  }
  throw badQuery(`$filter: ${token.raw ?? 'this path'} is not a property of ${set.name} (navigation and paths are not supported)`);
}

export function columnSql(p: Property): string {
  return p.asText ? `${quoteIdent(p.column)}::text` : quoteIdent(p.column);
}

/** A literal of the request, kept as its text until it meets a property whose type it takes. */
function literal(token: Token, params: SqlParams): Typed {
  const type = token.value as string;
  const raw = token.raw ?? '';
  if (type === 'null') return { sql: 'NULL', type: 'null' };
  const natural = naturalType(type);
  return { sql: params.add(literalValue(raw, type), natural), type: natural, literal: { raw, type } };
}

function naturalType(edm: string): EdmType {
  switch (edm) {
    case 'Edm.String':
    case 'Edm.Guid':
      return 'Edm.String';
    case 'Edm.Boolean':
      return 'Edm.Boolean';
    case 'Edm.SByte':
    case 'Edm.Byte':
    case 'Edm.Int16':
    case 'Edm.Int32':
      return 'Edm.Int32';
    case 'Edm.Int64':
      return 'Edm.Int64';
    case 'Edm.Decimal':
      return 'Edm.Decimal';
    case 'Edm.Double':
    case 'Edm.Single':
      return 'Edm.Double';
    case 'Edm.DateTimeOffset':
      return 'Edm.DateTimeOffset';
    case 'Edm.Date':
      return 'Edm.Date';
    default:
      throw badQuery(`$filter: literals of type ${edm} are not supported`);
  }
}

function literalValue(raw: string, edm: string): string {
  if (edm === 'Edm.String') {
    if (!/^'.*'$/s.test(raw)) throw badQuery('$filter: a text literal is written in single quotes');
    return raw.slice(1, -1).replace(/''/g, "'");
  }
  const unquoted = raw.replace(/^(?:guid|datetimeoffset|date)'(.*)'$/i, '$1');
  // Type suffixes (10.5m, 2d, 3L) belong to numbers only: a GUID may end in d or f.
  return ['Edm.Decimal', 'Edm.Double', 'Edm.Single', 'Edm.Int64'].includes(edm) && /^[-+]?[0-9.]/.test(unquoted) ? unquoted.replace(/[mdfMDFlL]$/, '') : unquoted;
}

const NUMERIC = new Set<EdmType>(['Edm.Int16', 'Edm.Int32', 'Edm.Int64', 'Edm.Decimal', 'Edm.Double']);

/**
 * `left op right`. A literal meeting a property is bound as the property's type (so `Amount gt 10`
 * compares numbers and `Day eq 2026-01-31` dates); `eq null` / `ne null` become IS [NOT] NULL; ne
 * keeps rows whose value is null, as OData says null ne 'x' is true.
 */
function compare(op: string, left: Typed, right: Typed, params: SqlParams): Typed {
  if (left.type === 'null' && right.type === 'null') return { sql: op === '=' ? 'TRUE' : 'FALSE', type: 'Edm.Boolean' };
  if (left.type === 'null' || right.type === 'null') {
    const other = left.type === 'null' ? right : left;
    if (op !== '=' && op !== '<>') throw badQuery('$filter: null can only be compared with eq or ne');
    return { sql: `(${other.sql} IS ${op === '=' ? '' : 'NOT '}NULL)`, type: 'Edm.Boolean' };
  }
  [left, right] = [rebind(left, right, params), rebind(right, left, params)];
  const l = left.type as EdmType;
  const r = right.type as EdmType;
  const comparable = l === r || (NUMERIC.has(l) && NUMERIC.has(r)) || (isTime(l) && isTime(r));
  if (!comparable) throw badQuery(`$filter: cannot compare ${left.type} with ${right.type}`);
  if ((op !== '=' && op !== '<>') && left.type === 'Edm.Boolean') throw badQuery('$filter: true/false values can only be compared with eq or ne');
  const sqlOp = op === '<>' ? 'IS DISTINCT FROM' : op;
  return { sql: `(${left.sql} ${sqlOp} ${right.sql})`, type: 'Edm.Boolean' };
}

function isTime(t: EdmType | 'null'): boolean {
  return t === 'Edm.DateTimeOffset' || t === 'Edm.Date';
}

/** A literal re-bound with the type of what it is compared with. */
function rebind(side: Typed, other: Typed, params: SqlParams): Typed {
  if (!side.literal || other.literal || other.type === 'null') return side;
  const target = other.type as EdmType;
  if (target === side.type) return side;
  const numericLiteral = NUMERIC.has(side.type as EdmType);
  const ok = (NUMERIC.has(target) && numericLiteral) || (isTime(target) && isTime(side.type as EdmType));
  if (!ok) return side;
  // The literal text is re-bound, never spliced in: replace the last parameter it took.
  const index = Number(/^\$(\d+)::/.exec(side.sql)?.[1]) - 1;
  params.values[index] = literalValue(side.literal.raw, side.literal.type);
  return { sql: `$${index + 1}::${PG_CAST[target]}`, type: target, literal: side.literal };
}

function method(name: string, args: Token[], set: EntitySet, params: SqlParams): Typed {
  const a = args.map((t) => expr(t, set, params));
  const text = (i: number): string => {
    const arg = a[i];
    if (!arg || arg.type !== 'Edm.String') throw badQuery(`$filter: ${name}() takes text arguments`);
    return arg.sql;
  };
  const arity = (n: number): void => {
    if (a.length !== n) throw badQuery(`$filter: ${name}() takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  switch (name) {
    case 'contains':
      arity(2);
      return { sql: `(strpos(${text(0)}, ${text(1)}) > 0)`, type: 'Edm.Boolean' };
    case 'substringof': // OData 2.0's contains, arguments the other way round
      arity(2);
      return { sql: `(strpos(${text(1)}, ${text(0)}) > 0)`, type: 'Edm.Boolean' };
    case 'startswith':
      arity(2);
      return { sql: `starts_with(${text(0)}, ${text(1)})`, type: 'Edm.Boolean' };
    case 'endswith':
      arity(2);
      return { sql: `(right(${text(0)}, length(${text(1)})) = ${text(1)})`, type: 'Edm.Boolean' };
    case 'tolower':
    case 'toupper':
    case 'trim':
      arity(1);
      return { sql: `${name === 'tolower' ? 'lower' : name === 'toupper' ? 'upper' : 'btrim'}(${text(0)})`, type: 'Edm.String' };
    case 'length':
      arity(1);
      return { sql: `length(${text(0)})`, type: 'Edm.Int32' };
    case 'year':
    case 'month':
    case 'day':
    case 'hour':
    case 'minute':
    case 'second': {
      arity(1);
      if (!isTime(a[0]!.type)) throw badQuery(`$filter: ${name}() takes a date or date/time`);
      const at = a[0]!.type === 'Edm.DateTimeOffset' ? `(${a[0]!.sql} AT TIME ZONE 'UTC')` : a[0]!.sql;
      return { sql: `extract(${name} FROM ${at})::integer`, type: 'Edm.Int32' };
    }
    default:
      throw badQuery(`$filter: the function ${String(name).slice(0, 40)}() is not supported`);
  }
}

interface OrderItem {
  property: Property;
  descending: boolean;
}

/** `$orderby=Name desc,Id`: properties only. */
export function parseOrderBy(text: string, set: EntitySet): OrderItem[] {
  guardExpression('$orderby', text);
  let ast: Token;
  try {
    ast = defaultParser.query(`$orderby=${text}`) as unknown as Token;
  } catch (err) {
    throw badQuery(`$orderby is not valid (${err instanceof Error ? err.message : 'syntax error'}); write Name desc,Id`);
  }
  const option = ((ast.value as { options?: Token[] }).options ?? [])[0];
  if (!option || option.raw !== `$orderby=${text}` || option.type !== 'OrderBy') throw badQuery('$orderby is not valid; write Name desc,Id');
  const items = (option.value as { items: Token[] }).items;
  return items.map((item) => {
    const { expr: e, direction } = item.value as { expr: Token; direction: number };
    return { property: propertyOf(e.type === 'CommonExpression' ? (e.value as Token) : e, set), descending: direction === -1 };
  });
}

/** `$select=Id,Name` (or `*`): configured property names only. */
export function parseSelect(text: string, set: EntitySet): Property[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.includes('*')) return set.properties;
  return names.map((n) => {
    const p = set.byName.get(n);
    if (!p) throw badQuery(`$select: ${set.name} has no property ${n.slice(0, 60)}`);
    return p;
  });
}

/**
 * `$search`: Salesforce sends the user's search as one phrase with the punctuation removed (except
 * hyphens). Every word must appear, case-insensitively, in one of the search columns.
 */
export function searchSql(text: string, set: EntitySet, params: SqlParams): string {
  const phrase = text.trim().replace(/^"(.*)"$/s, '$1');
  const words = phrase.split(/\s+/).filter(Boolean).filter((w) => !/^(AND|OR|NOT)$/.test(w));
  if (words.length === 0) return 'TRUE';
  if (words.length > 16 || phrase.length > 500) throw badQuery('$search: at most 16 words and 500 characters');
  if (set.search.length === 0) throw badQuery(`$search: ${set.name} has no text columns to search`);
  return words
    .map((word) => {
      const pattern = params.add(`%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, 'Edm.String');
      return `(${set.search.map((p) => `${quoteIdent(p.column)}::text ILIKE ${pattern}`).join(' OR ')})`;
    })
    .join(' AND ');
}
