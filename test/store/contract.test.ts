import { afterAll, beforeAll, describe } from 'vitest';
import { freshTables, servers } from '../support/dynamo-servers.ts';
import { auditContract } from './contract/audit.ts';
import type { StoreContext } from './contract/context.ts';
import { idempotencyContract } from './contract/idempotency.ts';
import { jobsContract } from './contract/jobs.ts';
import { resultsContract } from './contract/results.ts';

// ONE contract, every real server: what passes here on dynalite also passes on DynamoDB Local.
describe.each(servers())('store contract on $name', (descriptor) => {
  const ctx = {} as StoreContext;

  beforeAll(async () => {
    ctx.server = await descriptor.start();
    Object.assign(ctx, await freshTables(ctx.server, 'store'));
  });

  afterAll(async () => {
    ctx.dynamo?.destroy();
    await ctx.server?.close();
  });

  jobsContract(ctx);
  resultsContract(ctx);
  auditContract(ctx);
  idempotencyContract(ctx);
});
