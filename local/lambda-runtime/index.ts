/**
 * The local Lambda runtime: keyrelay's deployed bundles as Node 24 processes behind a Lambda Runtime API
 * (see docs/local.md, "How the functions run").
 */
export { runtimeNode, type RuntimeNode } from './node';
export { HEADER, formatClockStamp, parseClockStamp, type ClockStamp, type FunctionErrorPayload } from './protocol';
export { FunctionInvocationError, LambdaRuntime, type BundleFunction, type LambdaRuntimeOptions } from './runtime';
export { realTimer, type OutputSink, type SetTimer } from './sandbox';
export { RuntimeApi, type Invocation, type InvocationOutcome } from './server';
