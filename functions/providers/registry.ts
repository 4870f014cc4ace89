import { own } from '../shared/keys.ts';
import { definition as cloudca } from './cloudca/index.ts';
import type { ProviderDefinition } from './definition.ts';
import { definition as exoscale } from './exoscale/index.ts';
import { definition as exoscaleV1 } from './exoscale-v1/index.ts';
import { definition as gcore } from './gcore/index.ts';
import { definition as genesiscloud } from './genesiscloud/index.ts';
import type { ProviderId } from './port.ts';

/** Every provider fleetflow speaks, by id (Libcloud's providers.py). */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderDefinition>> = {
  exoscale,
  'exoscale-v1': exoscaleV1,
  gcore,
  genesiscloud,
  cloudca,
};

export function providerDefinition(id: string): ProviderDefinition {
  const def = own(PROVIDERS as Record<string, ProviderDefinition>, id);
  if (!def) throw new RangeError(`unknown provider '${id}' (known: ${Object.keys(PROVIDERS).join(', ')})`);
  return def;
}
