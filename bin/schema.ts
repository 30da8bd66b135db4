import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../lib/schema';

/** Rewrites keyrelay.schema.json from the zod schema (run after changing lib/config.ts). */
writeFileSync(new URL('../keyrelay.schema.json', import.meta.url), configJsonSchemaText());
