import { runSimulation, type EvaluationResult } from '@cloud-copilot/iam-simulate';
import { withExceptions } from './exceptions';
import type { PolicyDocument } from './policies';
import type { IdentityPolicy } from './principals';

/**
 * The judgement: one request of one caller, by its identity policies, the resource's policy and the request
 * context, with `@cloud-copilot/iam-simulate` (AGPL-3.0: a devDependency of the local stack, never shipped) in its
 * strict mode, after the known evaluator exceptions (`exceptions.ts`).
 */

/** Who asks: an IAM user or role session, or a service principal (`secretsmanager.amazonaws.com`). */
export interface Caller {
  callerArn: string;
  identityPolicies: readonly IdentityPolicy[];
}

/** One authorization AWS makes: an action on a resource, in a context. */
export interface AccessRequest {
  action: string;
  /** The resource's ARN, or `*` for actions without resource-level permissions. */
  resource: string;
  /** Context keys and values (`aws:ResourceTag/...`, `kms:ViaService`, ...). */
  context: Record<string, string | string[]>;
  /** The resource's own policy (secret, key, function), if it has one. */
  resourcePolicy?: PolicyDocument;
}

/** The outcome, and where an explicit deny came from. */
export interface Verdict {
  result: EvaluationResult;
  /** For an explicit deny: the kind of policy that denied. */
  deniedBy?: 'identity-based' | 'resource-based';
}

/** The simulation could not run (a malformed policy or request): a defect of the local IAM, never a denial. */
export class EvaluationError extends Error {
  constructor(request: AccessRequest, detail: string) {
    super(`local IAM could not judge ${request.action} on ${request.resource}: ${detail}`);
    this.name = 'EvaluationError';
  }
}

function accountOf(arn: string, fallback: string): string {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : fallback;
}

/** Judges `request` made by `caller` in `account`. @throws EvaluationError when the simulation cannot run. */
export async function evaluate(caller: Caller, request: AccessRequest, account: string): Promise<Verdict> {
  const result = await runSimulation(
    {
      request: {
        principal: caller.callerArn,
        action: request.action,
        resource: { resource: request.resource, accountId: accountOf(request.resource, account) },
        contextVariables: request.context,
      },
      identityPolicies: caller.identityPolicies.map((p) => ({ name: p.name, policy: withExceptions(p.policy) })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: withExceptions(request.resourcePolicy) } : {}),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error') throw new EvaluationError(request, result.errors.message);
  const verdict: Verdict = { result: result.overallResult };
  if (result.overallResult === 'ExplicitlyDenied' && result.resultType === 'single') {
    verdict.deniedBy = result.result.analysis.identityAnalysis?.result === 'ExplicitlyDenied' ? 'identity-based' : 'resource-based';
  }
  return verdict;
}

/** AWS's message for a denied request. */
export function accessDeniedMessage(caller: Caller, request: AccessRequest, verdict: Verdict): string {
  const head = `User: ${caller.callerArn} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  if (verdict.result === 'ExplicitlyDenied') return `${head} with an explicit deny in a ${verdict.deniedBy ?? 'identity-based'} policy`;
  const crossAccount = accountOf(request.resource, '') !== '' && accountOf(caller.callerArn, '') !== accountOf(request.resource, '');
  return `${head} because no ${crossAccount ? 'resource-based' : 'identity-based'} policy allows the ${request.action} action`;
}
