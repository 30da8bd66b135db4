import type { PolicyDocument, Statement } from './policies';

/**
 * Every place `@cloud-copilot/iam-simulate` is stricter than AWS's documented behaviour, in one list. Each entry
 * rewrites a policy before it is judged, so the rest of the local IAM never knows about it; each has a test in
 * test/unit/iam/exceptions.test.ts and the source that shows AWS's behaviour.
 */

/** One known difference between the evaluator and AWS. */
export interface EvaluatorException {
  /** What differs, in a sentence. */
  readonly why: string;
  /** Where AWS documents its behaviour. */
  readonly source: string;
  /** Rewrites one statement's condition block (returns it unchanged where the exception does not apply). */
  rewrite(condition: NonNullable<Statement['Condition']>): NonNullable<Statement['Condition']>;
}

/**
 * `events:source` with a plain operator. The evaluator types `events:source` as multi-valued (PutEvents can carry
 * many entries) and so never matches a single-valued operator on it; AWS's own EventBridge examples grant by source
 * with a plain `StringEquals`. The endpoint judges PutEvents once per entry's source (a one-element set), where
 * `ForAnyValue:` is exactly the plain operator.
 */
export const EVENTS_SOURCE_SINGLE_VALUED: EvaluatorException = {
  why: "events:source is typed multi-valued by the evaluator; AWS's EventBridge examples use a plain StringEquals on it",
  source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html',
  rewrite(condition) {
    const out: NonNullable<Statement['Condition']> = {};
    for (const [operator, keys] of Object.entries(condition)) {
      const plain = !operator.includes(':') || operator.endsWith('IfExists');
      for (const [key, value] of Object.entries(keys)) {
        const op = plain && key.toLowerCase() === 'events:source' ? `ForAnyValue:${operator}` : operator;
        out[op] = { ...out[op], [key]: value };
      }
    }
    return out;
  },
};

/** All exceptions, applied in order. */
export const EVALUATOR_EXCEPTIONS: readonly EvaluatorException[] = [EVENTS_SOURCE_SINGLE_VALUED];

/** `policy` with every exception applied. */
export function withExceptions(policy: PolicyDocument): PolicyDocument {
  return {
    ...policy,
    Statement: policy.Statement.map((s) =>
      s.Condition ? { ...s, Condition: EVALUATOR_EXCEPTIONS.reduce((c, e) => e.rewrite(c), s.Condition) } : s,
    ),
  };
}
