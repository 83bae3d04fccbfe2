import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** (secret, id, timestamp, body) -> signature cases asserted by both the TypeScript and the Apex tests. */
export const VECTORS_FILE = resolve('test/fixtures/signature-vectors.json');

const VectorSchema = z.object({
  name: z.string(),
  secret: z.string().startsWith('whsec_'),
  id: z.string(),
  timestamp: z.number().int().positive(),
  body: z.string(),
  signature: z.string().startsWith('v1,'),
});

export type SignatureVector = z.infer<typeof VectorSchema>;

export function loadSignatureVectors(): SignatureVector[] {
  return z.array(VectorSchema).parse(JSON.parse(readFileSync(VECTORS_FILE, 'utf8')));
}
