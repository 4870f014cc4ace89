// The binding now lives with the CDK constructs (infra/binding.ts); this re-export keeps the
// engine's tests compiling until they import it from there.
export * from '../infra/binding.ts';
