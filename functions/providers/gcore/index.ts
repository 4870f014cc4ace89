import type { ProviderDefinition } from '../definition.ts';
import { ProviderInputError } from '../errors.ts';
import { CREDENTIAL_ENV, credentialsFromEnv } from './auth.ts';
import { CAPABILITIES, DEFAULT_ENDPOINT, GcoreProvider, parseLocation } from './client.ts';

export { GcoreProvider } from './client.ts';

export const definition: ProviderDefinition = {
  id: 'gcore',
  title: 'Gcore Cloud',
  capabilities: CAPABILITIES,
  credentialEnv: [CREDENTIAL_ENV],
  credentialsFromEnv,
  locationOptions: [
    { flag: '--project', key: 'project', description: 'Gcore project id (integer)' },
    { flag: '--region', key: 'region', description: 'Gcore region id (integer), e.g. 76' },
  ],
  locationFrom(values) {
    const missing = ['project', 'region'].filter((k) => !values[k]?.trim());
    if (missing.length) {
      throw new ProviderInputError(
        `gcore: ${missing.map((k) => `--${k}`).join(' and ')} required (integer ids, e.g. --project 1 --region 76)`,
        {
          provider: 'gcore',
        },
      );
    }
    for (const key of ['project', 'region']) {
      if (!/^\d+$/.test(values[key]!.trim())) {
        throw new ProviderInputError(
          `gcore: --${key} must be an integer id (got '${values[key]!.slice(0, 40)}')`,
          { provider: 'gcore' },
        );
      }
    }
    const { project, region } = parseLocation(`${values.project}/${values.region}`);
    return `${project}/${region}`;
  },
  defaultEndpoint: () => DEFAULT_ENDPOINT,
  createAdapter: (args) =>
    new GcoreProvider({
      location: args.location,
      credentials: args.credentials,
      ...(args.endpoint && { endpoint: args.endpoint }),
      ...(args.retry && { retry: args.retry }),
      ...(args.requestsPerSecond && { requestsPerSecond: args.requestsPerSecond }),
      ...(args.logger && { logger: args.logger }),
      ...(args.timeouts && { timeouts: args.timeouts }),
    }),
};
