import { z } from 'zod';
import type { ProviderDefinition } from './registry';

/** Adapter for the reference provider (local/reference-provider). Placeholder until the adapter lands. */
export const referenceProvider: ProviderDefinition = {
  type: 'reference',
  settings: z.object({ baseUrl: z.url().optional() }).catchall(z.string()) as z.ZodType<Record<string, string>>,
  capabilities: { disable: true, lastUsed: true },
  quota: 5,
  needsAdminSecret: true,
  create() {
    throw new Error('reference adapter not built yet');
  },
};
