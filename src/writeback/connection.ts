import { Connection, type HttpRequest } from '@jsforce/jsforce-node';
import type { SalesforceConfig } from '../config.js';
import { toId18 } from '../events/salesforce-id.js';
import type { Logger } from '../log.js';
import type { ApiCallCounter } from './api-calls.js';
import { classifySalesforceError } from './salesforce-errors.js';
import { jwtBearerAssertion } from './jwt-bearer.js';

// The one Salesforce connection, used for write-back and also by inbox/verify-by-fetch and the
// ingress/ sources (reconcile, streams). It lives here, at the bottom of the path, because writeback/
// imports nothing from inbox/, work/ or ingress/: those import it, so the arrows stay one-way.

/** A jsforce Connection that counts each REST call it makes against the org's API limit. */
class CountingConnection extends Connection {
  counter: ApiCallCounter | undefined;

  override request<R = unknown>(request: string | HttpRequest, options?: object): ReturnType<Connection['request']> & Promise<R> {
    this.counter?.increment();
    return super.request<R>(request, options) as ReturnType<Connection['request']> & Promise<R>;
  }
}

interface Token {
  accessToken: string;
  instanceUrl: string;
  /** `https://login.../id/<org>/<user>` */
  id: string | undefined;
}

/**
 * Opens and keeps the connection forcehook calls Salesforce with, from configuration: client
 * credentials or JWT bearer (server-to-server, recommended), refresh token, or username + password
 * + security token (being retired by Salesforce). An expired session is
 * renewed once by jsforce (refresh function / refresh token) and the call retried.
 */
export class SalesforceConnector {
  private current: Promise<CountingConnection> | undefined;
  private userInfo: Promise<{ userId: string; orgId: string } | undefined> | undefined;

  constructor(
    private readonly config: SalesforceConfig,
    private readonly counter: ApiCallCounter,
    private readonly log: Logger,
  ) {}

  get apiVersion(): string {
    return this.config.apiVersion;
  }

  /** The shared, authenticated connection. A failed login is not cached: the next call tries again. */
  connection(): Promise<Connection> {
    if (!this.current) {
      this.current = this.open().catch((err: unknown) => {
        this.current = undefined;
        throw classifySalesforceError(err);
      });
    }
    return this.current;
  }


  /**
   * Logs in again and returns the new connection, for a caller whose session was refused outside
   * jsforce (the Pub/Sub API answers UNAUTHENTICATED; jsforce renews only on its own 401s).
   */
  renew(): Promise<Connection> {
    this.current = undefined;
    return this.connection();
  }

  /** The user forcehook acts as: configured, or asked once of /services/oauth2/userinfo. */
  async integrationUserId(): Promise<string | undefined> {
    if (this.config.integrationUserId) return this.config.integrationUserId;
    return (await this.identity())?.userId;
  }

  /** The org the connection is in (18 characters), asked once of /services/oauth2/userinfo. */
  async orgId(): Promise<string> {
    const identity = await this.identity();
    if (!identity) throw new Error('Salesforce did not say which org this connection is in (userinfo failed); try again later.');
    return identity.orgId;
  }

  private identity(): Promise<{ userId: string; orgId: string } | undefined> {
    if (!this.userInfo) {
      this.userInfo = (async () => {
        const conn = await this.connection();
        const info = await conn.request<{ user_id?: string; organization_id?: string }>({ method: 'GET', url: `${conn.instanceUrl}/services/oauth2/userinfo` });
        return info.user_id && info.organization_id ? { userId: toId18(info.user_id), orgId: toId18(info.organization_id) } : undefined;
      })().catch((err: unknown) => {
        this.userInfo = undefined;
        this.log.warn({ err: classifySalesforceError(err).message }, 'could not ask Salesforce who the integration user is; echo suppression waits');
        return undefined;
      });
    }
    return this.userInfo;
  }

  private async open(): Promise<CountingConnection> {
    const { auth, loginUrl, apiVersion } = this.config;
    const oauth2 = {
      loginUrl,
      clientId: 'clientId' in auth ? auth.clientId : undefined,
      clientSecret: 'clientSecret' in auth ? auth.clientSecret : undefined,
      redirectUri: `${loginUrl}/services/oauth2/success`,
    };
    const token = await this.requestToken();
    const conn = new CountingConnection({
      oauth2: Object.fromEntries(Object.entries(oauth2).filter(([, v]) => v !== undefined)) as { loginUrl: string },
      instanceUrl: token.instanceUrl,
      accessToken: token.accessToken,
      version: apiVersion,
      // With a refresh token jsforce renews by itself; JWT and password renew by logging in again.
      ...(auth.kind === 'refresh-token'
        ? { refreshToken: auth.refreshToken }
        : {
            refreshFn: (_conn: Connection, callback: (err: Error | null, accessToken?: string) => void) => {
              this.requestToken().then(
                (t) => callback(null, t.accessToken),
                (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
              );
            },
          }),
    });
    conn.counter = this.counter;
    conn.on('refresh', () => this.log.info('Salesforce session renewed'));
    this.log.info({ auth: auth.kind, instanceUrl: token.instanceUrl }, 'connected to Salesforce');
    return conn;
  }

  private async requestToken(): Promise<Token> {
    const { auth, loginUrl, apiVersion } = this.config;
    const conn = new Connection({
      oauth2: { loginUrl, clientId: 'clientId' in auth ? (auth.clientId ?? '') : '', ...(('clientSecret' in auth && auth.clientSecret) ? { clientSecret: auth.clientSecret } : {}), redirectUri: `${loginUrl}/services/oauth2/success` },
      version: apiVersion,
    });
    switch (auth.kind) {
      case 'jwt': {
        const assertion = jwtBearerAssertion({ clientId: auth.clientId, username: auth.username, audience: loginUrl, privateKey: auth.privateKey });
        await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
        break;
      }
      case 'refresh-token': {
        const res = await conn.oauth2.refreshToken(auth.refreshToken);
        return { accessToken: res.access_token, instanceUrl: res.instance_url || auth.instanceUrl, id: res.id };
      }
      case 'password':
        // With a client id this is the OAuth 2.0 username-password flow; without one, SOAP login().
        await conn.login(auth.username, auth.password);
        break;
      case 'client-credentials':
        // The External Client App (or connected app) runs as its "Run As" user; renewal asks again.
        await conn.authorize({ grant_type: 'client_credentials' });
        break;
    }
    return { accessToken: conn.accessToken ?? '', instanceUrl: conn.instanceUrl, id: undefined };
  }
}
