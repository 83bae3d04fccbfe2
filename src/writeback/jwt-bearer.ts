import { sign } from 'node:crypto';

/**
 * The assertion of the OAuth 2.0 JWT bearer flow: an RS256-signed token naming the connected app
 * (iss), the user (sub) and the login server (aud), valid for three minutes.
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
 */
export function jwtBearerAssertion(input: { clientId: string; username: string; audience: string; privateKey: string; nowSeconds?: number }): string {
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iss: input.clientId, sub: input.username, aud: input.audience, exp: now + 180 })}`;
  const signature = sign('RSA-SHA256', Buffer.from(unsigned), input.privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}
