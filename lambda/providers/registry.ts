import type { z } from 'zod';
import type { KeyProvider, ProviderCapabilities, ProviderContext } from './types';

/**
 * What the rest of keyrelay knows about a provider type before talking to it: how to validate its settings
 * (at config time and again at run time), what it can do, and how to build an adapter.
 */
export interface ProviderDefinition {
  /** Provider type as written in `keyrelay.config.json`. */
  type: string;
  /** Schema of the provider's settings (every value a string: they travel as secret tags). */
  settings: z.ZodType<Record<string, string>>;
  capabilities: ProviderCapabilities;
  /** Most keys one admin credential may hold, when the provider has a hard limit. */
  quota?: number;
  /**
   * How late, in seconds, the provider may record a key's use: `usageHold.quietPeriod` must be at least this, or a
   * key still in use could read as quiet. @default 0 (the provider records use as it happens)
   */
  lastUsedDelay?: number;
  /**
   * Hosts a `baseUrl` setting may name: the provider's documented API hosts (`https:` only), or `config` for a
   * service the config itself names (generic-http). No `baseUrl` setting at all: the adapter's own default host.
   * See {@link baseUrlProblem} (`./base-url`).
   */
  apiHosts: readonly string[] | 'config';
  /**
   * Why keys with these (valid) settings cannot be deployed yet, or undefined: a limitation the adapter knows it
   * cannot work around, refused at synth rather than at the first rotation. @default - every valid setting deploys
   */
  deployProblem?(settings: Readonly<Record<string, string>>): string | undefined;
  /** Whether the adapter needs an admin credential secret (`adminSecret` in the config). */
  needsAdminSecret: boolean;
  create(context: ProviderContext): KeyProvider;
}
