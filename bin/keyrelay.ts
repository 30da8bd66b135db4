#!/usr/bin/env node
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KeyRelayError } from '../core/errors';
import { buildKeyRelay, loadConfig } from '../lib';
import { buildLambdaBundles } from '../lib/build';

/**
 * The CDK app: `keyrelay.config.json` (or `-c config=<path>`, or `KEYRELAY_CONFIG`) to stacks, checked by cdk-nag
 * AwsSolutions. A bad config exits 1 with the message naming the key and the field, without a stack trace. The
 * functions' bundles are rebuilt first (lib/bundles.ts, about a second), so a deploy ships the sources it runs from.
 */
const app = new App();
buildLambdaBundles();
const path = resolve((app.node.tryGetContext('config') as string | undefined) ?? process.env.KEYRELAY_CONFIG ?? 'keyrelay.config.json');
try {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  buildKeyRelay(app, loadConfig(path), { env: account && region ? { account, region } : undefined });
} catch (err) {
  if (!(err instanceof KeyRelayError)) throw err;
  console.error(`keyrelay: ${err.message}`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
