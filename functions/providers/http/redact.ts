// Redaction now lives in functions/shared/redact.ts; this re-export keeps the audit store
// compiling until it imports it from there.
export * from '../../shared/redact.ts';
