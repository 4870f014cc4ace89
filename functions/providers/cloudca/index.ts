import type { ProviderDefinition } from '../definition.ts';
import { ProviderInputError } from '../errors.ts';
import { CAPABILITIES, CloudcaProvider, DEFAULT_ENDPOINT, parseLocation } from './client.ts';

export { CloudcaProvider } from './client.ts';

export const definition: ProviderDefinition = {
  id: 'cloudca',
  title: 'cloud.ca (CloudOps)',
  capabilities: CAPABILITIES,
  credentialEnv: ['CLOUDCA_API_KEY'],
  credentialsFromEnv(env) {
    const apiKey = env.CLOUDCA_API_KEY?.trim();
    return apiKey ? { apiKey } : undefined;
  },
  locationOptions: [
    {
      flag: '--service-code',
      key: 'serviceCode',
      description: 'cloud.ca service code, e.g. compute-qc or compute-on',
    },
    { flag: '--environment', key: 'environment', description: 'cloud.ca environment name, e.g. production' },
  ],
  locationFrom(values) {
    const missing = [
      values.serviceCode ? undefined : '--service-code',
      values.environment ? undefined : '--environment',
    ].filter(Boolean);
    if (missing.length) {
      throw new ProviderInputError(
        `cloudca: a location needs both --service-code and --environment (missing ${missing.join(' and ')}), e.g. --service-code compute-qc --environment production`,
        { provider: 'cloudca' },
      );
    }
    const location = `${values.serviceCode}/${values.environment}`;
    parseLocation(location);
    return location;
  },
  defaultEndpoint: () => DEFAULT_ENDPOINT,
  createAdapter: (args) => new CloudcaProvider(args),
};
