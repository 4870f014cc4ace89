// Types for the two undici modules the HTTP core imports directly (see client.ts): they are the
// same classes the package index re-exports, so the index's types describe them.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';

  const PoolImpl: typeof Pool;
  export default PoolImpl;
}
declare module 'undici/lib/core/errors.js' {
  import type { errors } from 'undici';

  const undiciErrors: typeof errors;
  export default undiciErrors;
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  // The index attaches this as Dispatcher.prototype.request; called here with the pool as `this`.
  function requestOn(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default requestOn;
}
