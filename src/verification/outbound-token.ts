import { VerificationError } from '../errors.js';
import { constantTimeEqual } from './constant-time.js';

export interface TokenPolicy {
  /** Required on every flow when set. */
  token: string | undefined;
  /** Per-flow tokens, used instead of `token` for their flow. */
  flowTokens: Readonly<Record<string, string>>;
  /** A flow with no token is refused rather than open (any deployment on a real database). */
  required: boolean;
}

/** Checks the `?token=` of an Outbound Message URL, when the flow requires one. */
export function verifyOutboundToken(policy: TokenPolicy, flow: string, given: unknown): void {
  const expected = Object.hasOwn(policy.flowTokens, flow) ? policy.flowTokens[flow] : policy.token;
  if (expected === undefined) {
    if (!policy.required) return;
    throw new VerificationError(
      'TOKEN_NOT_CONFIGURED',
      `Flow "${flow}" has no token configured, and Outbound Messages carry no other proof of sender: add ${flow}=<token> to OUTBOUND_FLOW_TOKENS (or set OUTBOUND_TOKEN) and put ?token=<token> in the endpoint URL.`,
      403,
    );
  }
  if (typeof given !== 'string' || given === '') {
    throw new VerificationError('TOKEN_INVALID', 'This endpoint needs ?token= in the Outbound Message endpoint URL; add the configured token.', 401);
  }
  if (!constantTimeEqual(given, expected)) {
    throw new VerificationError('TOKEN_INVALID', 'The ?token= in the endpoint URL does not match; copy the configured token into the Outbound Message.');
  }
}
