// The local HTTP server now lives in local/http/server.ts; this re-export keeps the dashboard
// routes compiling until they import it from there.
export * from './http/server.ts';
