import type { ProviderDefinition } from '../definition.ts';
import { ProviderAuthenticationError } from '../errors.ts';
import { EXOSCALE_CREDENTIAL_ENV, exoscaleCredentialsFromEnv } from '../exoscale/auth.ts';
import { CAPABILITIES, DEFAULT_ENDPOINT, DEFAULT_ZONE, ExoscaleV1Provider } from './client.ts';

const ZONE_NAME = /^[a-z]{2}-[a-z]{2,4}-\d+$/;

export const definition: ProviderDefinition = {
  id: 'exoscale-v1',
  title: 'Exoscale v1 (CloudStack compute API)',
  capabilities: CAPABILITIES,
  credentialEnv: EXOSCALE_CREDENTIAL_ENV,
  credentialsFromEnv: exoscaleCredentialsFromEnv,
  locationOptions: [
    {
      flag: '--zone',
      key: 'zone',
      description: `Exoscale zone name, e.g. ${DEFAULT_ZONE} (resolved to its CloudStack zone id)`,
    },
  ],
  locationFrom(values) {
    const zone = values.zone ?? DEFAULT_ZONE;
    if (!ZONE_NAME.test(zone))
      throw new Error(`--zone: '${zone}' is not an Exoscale zone name such as ${DEFAULT_ZONE}`);
    return zone;
  },
  defaultLocation: DEFAULT_ZONE,
  // Every zone is served by the one compute URL; the zone travels as zoneid.
  defaultEndpoint: () => DEFAULT_ENDPOINT,
  createAdapter(args) {
    const { apiKey, apiSecret } = args.credentials;
    if (!apiKey || !apiSecret) {
      throw new ProviderAuthenticationError(
        'exoscale-v1: credentials need apiKey and apiSecret (EXOSCALE_API_KEY / EXOSCALE_API_SECRET)',
        {
          provider: 'exoscale-v1',
        },
      );
    }
    return new ExoscaleV1Provider({
      location: args.location,
      apiKey,
      apiSecret,
      ...(args.endpoint && { endpoint: args.endpoint }),
      ...(args.retry && { retry: args.retry }),
      ...(args.requestsPerSecond && { requestsPerSecond: args.requestsPerSecond }),
      ...(args.logger && { logger: args.logger }),
      ...(args.timeouts && { timeouts: args.timeouts }),
    });
  },
};
