import express, { type NextFunction, type Request, type Response } from 'express';
import type { ODataConfig } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ODataError, badQuery } from '../../odata/errors.js';
import { metadataXml, serviceDocument } from '../../odata/metadata.js';
import type { EntitySet } from '../../odata/model.js';
import { assertWritable, SALESFORCE_MAX_RESPONSE_BYTES, type ODataService } from '../../odata/service.js';
import { constantTimeEqual } from '../../verification/constant-time.js';
import type { BodyBudget } from '../body-budget.js';
import { hasMediaType, readRawBody } from '../raw-body.js';
import { noteOf } from '../locals.js';
import { errorForLog } from '../error-log.js';

const ODATA_PATH = '/odata/v4';

export interface ODataRouteDeps {
  service: ODataService;
  auth: Pick<ODataConfig, 'users' | 'tokens'>;
  log: Logger;
  bodyBudget: BodyBudget;
  /** Largest write body; Salesforce sends at most 8 MB. */
  maxBodyBytes: number;
}

/**
 * The OData 4.0 service Salesforce Connect reads External Objects from: the service document,
 * `$metadata`, each entity set with $filter/$select/$orderby/$top/$skip/$count/$search and
 * server-driven paging, one row by key, and (where configured) create, update and delete.
 * Every request needs a login: HTTP Basic (one user per Named Principal) or a bearer token.
 */
export function mountOData(app: express.Express, deps: ODataRouteDeps): void {
  const router = express.Router({ caseSensitive: true, strict: false });
  router.use(authenticate(deps.auth));
  router.use((_req, res, next) => {
    res.setHeader('OData-Version', '4.0');
    next();
  });
  router.get('/', (req, res) => void res.json(serviceDocument(deps.service.model, serviceRoot(req))));
  // The model is fixed at start-up: its document is built once.
  const metadata = metadataXml(deps.service.model);
  router.get('/\\$metadata', (_req, res) => void res.type('application/xml').send(metadata));
  router.get('/:resource/\\$count', wrap(async (req, res) => {
    const { set, key } = resource(req, deps);
    if (key !== undefined) throw new ODataError(404, 'NotFound', '$count counts an entity set');
    res.type('text/plain').send(String(await deps.service.count(set, queryOptions(req))));
  }));
  router.get('/:resource', wrap(async (req, res) => {
    const { set, key } = resource(req, deps);
    const options = queryOptions(req);
    if (key !== undefined) {
      const row = await deps.service.get(set, key);
      if (!row) throw new ODataError(404, 'NotFound', `${set.name} has no row with this key`);
      res.json({ '@odata.context': `${serviceRoot(req)}$metadata#${set.name}/$entity`, ...row });
      return;
    }
    const maxPageSize = preferredPageSize(req);
    const result = await deps.service.read({ set, options, ...(maxPageSize ? { maxPageSize } : {}), setUrl: `${serviceRoot(req)}${set.name}`, serviceRoot: serviceRoot(req) });
    if (maxPageSize) res.setHeader('Preference-Applied', `odata.maxpagesize=${result.pageSize}`);
    res.type('application/json; odata.metadata=minimal').send(result.body);
  }));
  router.post('/:resource', wrap(async (req, res) => {
    const { set, key } = resource(req, deps);
    if (key !== undefined) throw new ODataError(405, 'NotAllowed', 'POST to the entity set, not to one entity');
    assertWritable(set, 'create');
    const created = await deps.service.create(set, await jsonBody(req, res, deps));
    const location = `${serviceRoot(req)}${set.name}(${keyLiteral(set, created[set.key.name])})`;
    res.status(201).setHeader('Location', location);
    res.json({ '@odata.context': `${serviceRoot(req)}$metadata#${set.name}/$entity`, ...created });
  }));
  const update = wrap(async (req, res) => {
    const { set, key } = resource(req, deps);
    if (key === undefined) throw new ODataError(405, 'NotAllowed', `address one entity: ${set.name}(key)`);
    assertWritable(set, 'update');
    if (!(await deps.service.update(set, key, await jsonBody(req, res, deps)))) throw new ODataError(404, 'NotFound', `${set.name} has no row with this key`);
    res.status(204).end();
  });
  router.patch('/:resource', update);
  router.put('/:resource', update);
  router.delete('/:resource', wrap(async (req, res) => {
    const { set, key } = resource(req, deps);
    if (key === undefined) throw new ODataError(405, 'NotAllowed', `address one entity: ${set.name}(key)`);
    assertWritable(set, 'delete');
    if (!(await deps.service.delete(set, key))) throw new ODataError(404, 'NotFound', `${set.name} has no row with this key`);
    res.status(204).end();
  }));
  router.use((_req, _res, next) => next(new ODataError(404, 'NotFound', 'No such OData resource: see the service document at /odata/v4/')));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err instanceof ODataError ? err : err instanceof AppError && err.status < 500 ? new ODataError(err.status, err.code, err.message) : fromRouter(err);
    if (!e) deps.log.error({ err: errorForLog(err) }, 'odata request failed');
    noteOf(res).errorCode = e?.odataCode ?? 'INTERNAL';
    if (e?.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="forcehook odata", charset="UTF-8"');
    res.status(e?.status ?? 500).json({ error: { code: e?.odataCode ?? 'InternalError', message: e?.message ?? 'An internal error occurred.' } });
  });
  app.use(ODATA_PATH, router);
}

/** Express's router cannot decode a path parameter such as `Widgets(%ZZ)`: a bad request, said in OData. */
function fromRouter(err: unknown): ODataError | undefined {
  return err instanceof URIError ? badQuery('The URL is not validly percent-encoded.') : undefined;
}

function wrap(fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction): void => void fn(req, res).catch(next);
}

/** Basic with any configured user, or Bearer with any configured token; each compared in constant time, all of them. */
function authenticate(auth: Pick<ODataConfig, 'users' | 'tokens'>) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    let ok = false;
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      // Both compared for every login, so the time taken does not tell whether a user name exists.
      for (const u of auth.users) {
        const userMatches = constantTimeEqual(user, u.user);
        const passwordMatches = constantTimeEqual(password, u.password);
        ok = (userMatches && passwordMatches) || ok;
      }
      ok = ok && colon > 0;
    } else if (header.startsWith('Bearer ')) {
      const token = header.slice(7).trim();
      for (const t of auth.tokens) ok = constantTimeEqual(token, t) || ok;
    }
    next(ok ? undefined : new ODataError(401, 'Unauthorized', 'Log in with a user of ODATA_USERS (HTTP Basic) or a token of ODATA_TOKENS (Bearer).'));
  };
}

/** The service root as the client reached it; behind Heroku's router the scheme is in X-Forwarded-Proto. */
function serviceRoot(req: Request): string {
  const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim();
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : req.protocol;
  return `${proto}://${req.get('host') ?? 'localhost'}${ODATA_PATH}/`;
}

/** `Invoices`, `Invoices(42)`, `Invoices('A-1')`, `Invoices(Id='A-1')`, `Invoices/$count`. */
function resource(req: Request, deps: ODataRouteDeps): { set: EntitySet; key: string | undefined } {
  const text = String(req.params['resource'] ?? '');
  const m = /^([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?$/s.exec(text);
  const set = m ? deps.service.model.sets.get(m[1]!) : undefined;
  if (!m || !set) throw new ODataError(404, 'NotFound', `No entity set ${text.slice(0, 60)}: see the service document at /odata/v4/`);
  if (m[2] === undefined) return { set, key: undefined };
  let key = m[2].replace(new RegExp(`^${set.key.name}=`), '');
  if (/^'.*'$/s.test(key)) key = key.slice(1, -1).replace(/''/g, "'");
  else if (set.key.type === 'Edm.String') throw badQuery(`the key of ${set.name} is text: write ${set.name}('value')`);
  if (key.length === 0 || key.length > 1000) throw badQuery('the key is empty or too long');
  return { set, key };
}

function keyLiteral(set: EntitySet, value: unknown): string {
  return set.key.type === 'Edm.String' ? `'${String(value).replace(/'/g, "''")}'` : String(value);
}

/** The decoded query string, one value per option (a repeated option is refused). */
function queryOptions(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (Array.isArray(v)) throw badQuery(`${k} is given more than once`);
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function preferredPageSize(req: Request): number | undefined {
  const m = /odata\.maxpagesize\s*=\s*(\d{1,7})/i.exec(String(req.headers['prefer'] ?? ''));
  return m ? Math.max(1, Number(m[1])) : undefined;
}

async function jsonBody(req: Request, res: Response, deps: ODataRouteDeps): Promise<Record<string, unknown>> {
  if (!hasMediaType(req, ['application/json'])) throw new ODataError(415, 'UnsupportedMediaType', 'send the entity as application/json');
  const raw = await readRawBody(req, res, { maxBytes: Math.min(deps.maxBodyBytes, SALESFORCE_MAX_RESPONSE_BYTES), budget: deps.bodyBudget, encodings: [], encodingAdvice: 'send the entity uncompressed' });
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badQuery('the body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badQuery('the body must be one entity, a JSON object');
  return value as Record<string, unknown>;
}
