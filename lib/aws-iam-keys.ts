import { awsIamProvider, type AwsIamSettings } from '../lambda/providers/aws-iam';
import type { ResolvedKey } from './config';
import { fail, keyPlace } from './config-place';

/*
 * The deploy rules only `aws-iam` keys have, kept out of the generic config code: an admin secret when the key's
 * credential is one, and one key per IAM user.
 */

/** Why an `aws-iam` key with these settings needs an `adminSecret` it lacks, or undefined (other providers: always). */
export function awsIamAdminSecretProblem(type: string, settings: Record<string, string>, adminSecret: string | undefined): string | undefined {
  if (type !== awsIamProvider.type || adminSecret) return undefined;
  const { userName, credentials } = settings as AwsIamSettings;
  if (credentials !== 'admin-secret') return undefined;
  return (
    `is required for provider '${type}' with credentials 'admin-secret' (the secret holding the access key that ` +
    `manages user '${userName}'); set it, or use credentials 'role'`
  );
}

/**
 * Records in `claims` that `key` rotates its IAM user, and refuses a second key for one user: a user has two access
 * key slots, the current key and the one rotating in. Two keys name one user when they reach IAM through the same
 * credential (the functions' role, or one admin secret: different admin secrets may reach different accounts) and
 * their `userName`s match case-insensitively, as IAM compares them. Keys of other providers claim nothing.
 * `resolveConfig` checks one config with it; the CDK engine, every key granted to it (possibly from several configs).
 *
 * @param claims credential and lower-case user name -> name of the key rotating that user; updated in place
 * @throws ConfigError naming the key, `provider.userName` and the key that already rotates the user.
 */
export function claimAwsIamUser(claims: Map<string, string>, key: ResolvedKey): void {
  if (key.provider !== awsIamProvider.type) return;
  const { userName, credentials = 'role' } = key.providerSettings as AwsIamSettings;
  const claim = `${credentials === 'role' ? 'role' : `admin-secret ${key.adminSecret ?? ''}`}\n${userName.toLowerCase()}`;
  const rival = claims.get(claim);
  if (rival !== undefined) {
    fail(
      keyPlace(key.name),
      'provider.userName',
      `'${userName}' is already rotated by key '${rival}'; ` +
        'give each IAM user one key (its two access key slots are the current key and the one rotating in)',
    );
  }
  claims.set(claim, key.name);
}
