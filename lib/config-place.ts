import { parseDuration } from '../core/duration';
import { ConfigError, KeyRelayError } from '../core/errors';

/**
 * Where a problem in the config is, as its message starts: one key's field (`key 'a': gracePeriod must …`) or a
 * deploy-only field (`keyrelay.config.json tags: may hold …`). Every config error is thrown through {@link fail} or
 * {@link duration} with one of these.
 */
export interface ConfigPlace {
  /** The start of a message about `field`. */
  field(field: string): string;
  /** The start of a message that already names the field (as `parseDuration`'s do). */
  named(field: string): string;
}

/** The place of key `name`'s fields. */
export function keyPlace(name: string): ConfigPlace {
  return { field: (field) => `key '${name}': ${field} `, named: () => `key '${name}': ` };
}

/** The place of the deploy-only fields (alarms, tags, readers, stacks, engine). */
export const DEPLOY: ConfigPlace = { field: (field) => `keyrelay.config.json ${field}: `, named: (field) => `keyrelay.config.json ${field}: ` };

/** @throws ConfigError `message` about `field` at `place`. */
export function fail(place: ConfigPlace, field: string, message: string): never {
  throw new ConfigError(`${place.field(field)}${message}`);
}

/** `text` as seconds. @throws ConfigError at `place` when it is not a duration within the limit. */
export function duration(place: ConfigPlace, field: string, text: string): number {
  try {
    return parseDuration(text, field);
  } catch (err) {
    if (err instanceof KeyRelayError) throw new ConfigError(`${place.named(field)}${err.message}`);
    throw err;
  }
}
