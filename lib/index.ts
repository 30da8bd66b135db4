/**
 * keyrelay's CDK constructs, for this repository's app (bin/keyrelay.ts) and for other CDK apps.
 *
 * @example
 * const { engine, keys } = buildKeyRelay(app, loadConfig('keyrelay.config.json'));
 * keys.get('payments/stripe')?.grantRead(paymentsRole);
 */
export { buildKeyRelay, shardOf, MAX_RESOURCES_PER_STACK, type BuildKeyRelayOptions, type KeyRelayStacks } from './app';
export { ConfigSchema, DEFAULTS, DEPLOY_DEFAULTS, keySettings, loadConfig, matchKeys, resolveConfig, rotationRules } from './config';
export type { KeyRelayConfig, ResolvedConfig, ResolvedDeploy, ResolvedKey, RotationSchedule } from './config';
export { KeyRelayEngine, NAG_RULE, READ_ACTIONS, type AlarmSubscription, type KeyRelayEngineProps } from './engine';
export { KeyRelayKey, grantReadKeys, type KeyRelayKeyProps } from './key';
export { KeyRelayMonitoring, type KeyRelayMonitoringProps } from './monitoring';
export { STAGGERED_WINDOW_HOURS, staggeredRotationRules, type RotationRulesSpec } from './schedule';
export { configJsonSchema } from './schema';
