import { KeyRelayError } from '../core/errors';

/**
 * What the synthesized template sets on one of keyrelay's functions (handler, timeout, memory, environment), for the
 * local Lambda runtime to run its bundle as Lambda would. Read by the local IAM's deployment (`local/iam/policies.ts`)
 * from `cdk synth` of the config being run, intrinsics resolved to the local account and region, and cached with it:
 * a variable the CDK app adds reaches the local processes too, with no second list.
 */

/** One function's settings. */
export interface FunctionSettings {
  handler: string;
  timeoutMs: number;
  memoryMb: number;
  environment: Record<string, string>;
}

/** A template value the local runtime cannot give a function (code `FunctionSettings`). */
export class FunctionSettingsError extends KeyRelayError {
  constructor(message: string) {
    super('FunctionSettings', message);
  }
}

/**
 * Settings from an `AWS::Lambda::Function`'s resolved properties; CloudFormation's defaults (3 s, 128 MB) where unset.
 * @throws FunctionSettingsError for an environment variable whose value is not a string after resolution.
 */
export function functionSettings(name: string, props: Record<string, unknown>): FunctionSettings {
  const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(variables)) {
    if (typeof value !== 'string') {
      throw new FunctionSettingsError(`function '${name}': environment variable ${key} is not a string in the template (${JSON.stringify(value)})`);
    }
    environment[key] = value;
  }
  return {
    handler: typeof props.Handler === 'string' ? props.Handler : 'index.handler',
    timeoutMs: Number(props.Timeout ?? 3) * 1000,
    memoryMb: Number(props.MemorySize ?? 128),
    environment,
  };
}
