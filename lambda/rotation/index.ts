/** The rotation function: `createRotationHandler` for in-process use (local stack, tests), `handler` for Lambda. */
export { createRotationHandler, handler, parseRotationEvent, type LambdaContextLike, type RotationEvent, type RotationHandler } from './handler';
export { ROTATION_STEPS, runStep, startChecks, type RotationDeps, type RotationRetry, type RotationStep, type StartCheck } from './steps';
export { VersionCache } from './versions';
export * from './errors';
