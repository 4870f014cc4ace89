import { createDynamo } from '../store/dynamo.ts';
import { tableNamesFromEnv } from '../store/tables.ts';
import { UsageStore } from './store.ts';

let built: { key: string; store: UsageStore } | undefined;

/** The usage samples of this process, on the idempotency table the data layer's variables name. */
export function usageStore(env: NodeJS.ProcessEnv = process.env): UsageStore {
  const table = tableNamesFromEnv(env).idempotency;
  const key = JSON.stringify([table, env.AWS_ENDPOINT_URL_DYNAMODB ?? '']);
  if (built?.key !== key) {
    const { doc } = createDynamo(
      env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {},
    );
    built = { key, store: new UsageStore(doc, table) };
  }
  return built.store;
}
