import { ConfigError } from '../../core/errors';
import { awsIamProvider } from './aws-iam';
import { cloudflareProvider } from './cloudflare';
import { datadogProvider } from './datadog';
import { genericHttpProvider } from './generic-http';
import { openaiProvider } from './openai';
import { referenceProvider } from './reference';
import { sendgridProvider } from './sendgrid';
import { stripeProvider } from './stripe';
import { twilioProvider } from './twilio';
import type { ProviderDefinition } from './registry';
import type { KeyProvider, ProviderContext } from './types';

export * from './errors';
export type * from './types';
export type { ProviderDefinition } from './registry';

/** Every provider type keyrelay can rotate, by the `type` written in the config. */
export const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = {
  [referenceProvider.type]: referenceProvider,
  [cloudflareProvider.type]: cloudflareProvider,
  [datadogProvider.type]: datadogProvider,
  [sendgridProvider.type]: sendgridProvider,
  [openaiProvider.type]: openaiProvider,
  [twilioProvider.type]: twilioProvider,
  [awsIamProvider.type]: awsIamProvider,
  [stripeProvider.type]: stripeProvider,
  [genericHttpProvider.type]: genericHttpProvider,
};

/** The definition of `type`. @throws ConfigError listing the known types. */
export function providerDefinition(type: string): ProviderDefinition {
  // Own keys only: `constructor` or `toString` would otherwise find Object.prototype's and fail with a TypeError.
  const def = Object.hasOwn(PROVIDERS, type) ? PROVIDERS[type] : undefined;
  if (!def) {
    throw new ConfigError(`unknown provider type '${type}'; known types: ${Object.keys(PROVIDERS).sort().join(', ')}`);
  }
  return def;
}

/** Builds an adapter for `type`, validating its settings first. @throws ConfigError on bad settings. */
export function createProvider(type: string, context: ProviderContext): KeyProvider {
  const def = providerDefinition(type);
  const parsed = def.settings.safeParse(context.settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`provider '${type}' setting '${issue?.path.join('.') ?? '?'}': ${issue?.message ?? 'invalid'}`);
  }
  return def.create({ ...context, settings: parsed.data });
}
