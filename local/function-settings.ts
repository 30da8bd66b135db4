import { KeyRelayError } from '../lambda/core/errors';
import { LAMBDA_ENTRIES, type LambdaName } from '../lib/bundles';
import type { ResolvedConfig } from '../lib/config';
import { synthesize, type RawTemplate, type TargetEnv } from './iam/templates';

/**
 * What the synthesized template sets on each of keyrelay's functions (handler, timeout, memory, environment), for
 * the local runtime to run the bundles as Lambda would: read from `cdk synth` of the config being run, so a variable
 * the CDK app adds reaches the local processes too. Values that name deployed resources (the revoker's ARN, the
 * scheduler role, the dead-letter queue) are the local stack's instead, given by the caller.
 */

/** One function's settings. */
export interface FunctionSettings {
  handler: string;
  timeoutMs: number;
  memoryMb: number;
  environment: Record<string, string>;
}

/** A template value the local stack does not know how to give a function. */
export class FunctionSettingsError extends KeyRelayError {
  constructor(message: string) {
    super('FunctionSettings', message);
  }
}

/**
 * Reads the functions `<prefix>-rotation` and `<prefix>-revoker` from raw templates.
 * @param local values for the variables that name deployed resources: a string replaces the template's value,
 * `undefined` leaves the variable out (nothing local stands for it).
 * @throws FunctionSettingsError for a missing function, or a variable the template computes (an intrinsic) that
 * `local` does not cover.
 */
export function settingsFromTemplates(
  templates: ReadonlyMap<string, RawTemplate>,
  prefix: string,
  local: Readonly<Record<string, string | undefined>>,
): Record<LambdaName, FunctionSettings> {
  const functions = [...templates.values()].flatMap((t) => Object.values(t.Resources ?? {})).filter((r) => r.Type === 'AWS::Lambda::Function');
  const out = {} as Record<LambdaName, FunctionSettings>;
  for (const fn of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
    const name = `${prefix}-${fn}`;
    const props = functions.find((r) => r.Properties?.FunctionName === name)?.Properties;
    if (!props) throw new FunctionSettingsError(`the synthesized templates have no function '${name}'`);
    const variables = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables)) {
      if (key in local) {
        const replacement = local[key];
        if (replacement !== undefined) environment[key] = replacement;
      } else if (typeof value === 'string') {
        environment[key] = value;
      } else {
        throw new FunctionSettingsError(
          `function '${name}': the template computes ${key} (${JSON.stringify(value)}); give the local stack's value for it ` +
            '(local/stack.ts, the values passed to settingsFromTemplates)',
        );
      }
    }
    out[fn] = {
      handler: String(props.Handler ?? 'index.handler'),
      timeoutMs: Number(props.Timeout ?? 3) * 1000,
      memoryMb: Number(props.MemorySize ?? 128),
      environment,
    };
  }
  return out;
}

/** {@link settingsFromTemplates} of `cdk synth` of `config` in `env` (a synth: seconds). */
export function deployedFunctionSettings(
  config: ResolvedConfig,
  env: TargetEnv,
  local: Readonly<Record<string, string | undefined>>,
): Record<LambdaName, FunctionSettings> {
  return settingsFromTemplates(synthesize(config, env), config.deploy.prefix, local);
}
