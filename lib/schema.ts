import { z } from 'zod';
import { ConfigSchema } from './config';

/**
 * The JSON Schema of `keyrelay.config.json` (editor completion), generated from the zod schema so the two cannot
 * drift; `keyrelay.schema.json` is this, committed (`npx tsx bin/schema.ts` rewrites it; a test checks it is current).
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { target: 'draft-07', io: 'input' }),
    $id: 'https://keyrelay.dev/keyrelay.schema.json',
    title: 'keyrelay.config.json',
    description: 'API keys keyrelay rotates, and how it is deployed',
  };
}

/** The committed file's text. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
