/**
 * The local Step Functions engine: runs the synthesized state machines of the app (see
 * docs/local-engine.md for what it runs, the AWS quotas it enforces and how it differs from AWS).
 * Import from here; the files beside this one are its parts, one job each.
 */
export * from './asl.ts';
export * from './engine.ts';
export * from './errors.ts';
export * from './sfn-endpoint.ts';
