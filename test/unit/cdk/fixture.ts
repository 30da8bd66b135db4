import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { buildKeyRelay, type KeyRelayStacks } from '../../../lib/app';
import { resolveConfig, type KeyRelayConfig } from '../../../lib/config';

/** A small config with every deploy-only field set. */
export const SMALL_CONFIG: KeyRelayConfig = {
  defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference', gracePeriod: '24h' },
  keys: {
    'payments/reference-api': { rotateEvery: '7d' },
    'search/reference-api': { schedule: 'cron(0 3 ? * TUE *)', window: '2h', gracePeriod: '2d' },
  },
  alarms: { email: ['oncall@example.com'], subscriptions: [{ protocol: 'https', endpoint: 'https://events.example.com/hook' }] },
  tags: { team: 'platform' },
  readers: [
    { principal: 'arn:aws:iam::111111111111:role/payments-app', keys: ['payments/*'] },
    { principal: '222222222222', keys: ['search/reference-api'] },
  ],
};

/** cdk.json's feature flags, so tests see the templates `cdk synth` makes. */
const FLAGS = (JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/** An App like `cdk synth`'s, without bundling (a stand-in asset) and without built-in CloudFormation validation. */
export function fastApp(): App {
  return new App({ builtinCloudFormationValidation: false, context: { ...FLAGS, 'aws:cdk:bundling-stacks': [] } });
}

/**
 * Builds the app for template assertions: no bundling (a stand-in asset) and no built-in CloudFormation validation,
 * so a test file takes well under a second per synth. The real synth is test/cdk/synth.test.ts.
 */
export function buildFast(config: KeyRelayConfig = SMALL_CONFIG): KeyRelayStacks & { app: App } {
  const app = fastApp();
  const built = buildKeyRelay(app, resolveConfig(config), { env: { account: '123456789012', region: 'eu-west-1' } });
  return { ...built, app };
}

/** One IAM policy statement as a template holds it. */
export type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Condition?: Record<string, Record<string, unknown>>; Principal?: unknown; Sid?: string };
/** Template JSON, read loosely by assertions. */
export type Json = Record<string, any>;

/** A CloudFormation value that may be one item or a list, as a list. */
export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every IAM policy (inline and managed) in a template. */
export function iamStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const res of Object.values(template.findResources(type)) as Json[]) {
      out.push(...(res.Properties.PolicyDocument.Statement as Statement[]));
    }
  }
  return out;
}
