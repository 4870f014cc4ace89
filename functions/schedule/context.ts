import { stores } from '../runtime/stores.ts';
import { createDynamo } from '../store/dynamo.ts';
import { tableNamesFromEnv } from '../store/tables.ts';
import { OverrideStore } from './overrides.ts';

let built: { key: string; overrides: OverrideStore } | undefined;

/** The override store of this process, on the jobs table the data layer's variables name. */
export function overrideStore(env: NodeJS.ProcessEnv = process.env): OverrideStore {
  const names = tableNamesFromEnv(env);
  const key = JSON.stringify([names.jobs, env.AWS_ENDPOINT_URL_DYNAMODB ?? '']);
  if (built?.key !== key) {
    const { doc } = createDynamo(
      env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {},
    );
    built = { key, overrides: new OverrideStore(doc, names.jobs, stores(env).audit) };
  }
  return built.overrides;
}
