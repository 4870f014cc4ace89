import type { ProviderId } from '../functions/providers/port.ts';
import { CloudcaSimulator } from './cloudca/simulator.ts';
import { ExoscaleSimulator } from './exoscale/simulator.ts';
import { ExoscaleV1Simulator } from './exoscale-v1/simulator.ts';
import { GcoreSimulator } from './gcore/simulator.ts';
import { GenesisCloudSimulator } from './genesiscloud/simulator.ts';
import type { SimulatorBase, SimulatorOptions } from './kit/index.ts';

/**
 * The provider simulators, by provider id. Kept apart from the registry of adapters so that no
 * Lambda bundle carries a simulator: only the local runtime, the CLI and the tests import this.
 */
export const SIMULATORS: Readonly<Record<ProviderId, (options?: SimulatorOptions) => SimulatorBase>> = {
  exoscale: (options) => new ExoscaleSimulator(options),
  'exoscale-v1': (options) => new ExoscaleV1Simulator(options),
  gcore: (options) => new GcoreSimulator(options),
  genesiscloud: (options) => new GenesisCloudSimulator(options),
  cloudca: (options) => new CloudcaSimulator(options),
};

export function createSimulator(provider: ProviderId, options?: SimulatorOptions): SimulatorBase {
  return SIMULATORS[provider](options);
}
