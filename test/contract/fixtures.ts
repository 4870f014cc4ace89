import type { CreateInstanceSpec, ProviderId } from '../../functions/providers/port.ts';

/** What the shared contract suite needs to exercise one provider against its simulator. */
export interface ContractFixture {
  /** A create request valid in the simulator's seed catalogue, with type and template given by name. */
  createSpec: CreateInstanceSpec;
  /** A type name to scale to (ignored when the provider cannot scale). */
  scaleTo: string;
  /** Credentials of the right shape that the simulator rejects. */
  badCredentials: Record<string, string>;
}

export const CONTRACT_FIXTURES: Readonly<Record<ProviderId, ContractFixture>> = {
  exoscale: {
    createSpec: {
      name: 'contract-web',
      type: 'standard.small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      diskSize: 20,
    },
    scaleTo: 'standard.medium',
    // Right shape (EXO + 24 hex, 43-character secret), unknown to the simulator.
    badCredentials: {
      apiKey: 'EXO000000000000000000000000',
      apiSecret: 'Bad-Secret-0000000000000000000000000000000',
    },
  },
  'exoscale-v1': {
    createSpec: { name: 'contract-web-1', type: 'Small', template: 'Linux Ubuntu 24.04 LTS 64-bit' },
    scaleTo: 'Medium',
    badCredentials: {
      apiKey: 'EXO0123456789abcdef01234567',
      apiSecret: 'not-the-secret-0123456789abcdefghijklmnopq',
    },
  },
  gcore: {
    createSpec: { name: 'contract-web', type: 'g1-standard-1-2', template: 'ubuntu-24.04-x64', diskSize: 10 },
    scaleTo: 'g1-standard-2-4',
    badCredentials: { apiKey: `9999$${'0'.repeat(64)}` },
  },
  genesiscloud: {
    createSpec: {
      name: 'contract-web',
      type: 'vcpu-2_memory-4g',
      template: 'Ubuntu 24.04',
      sshKey: '45bcd3ac-fccd-4eea-a812-21f01d665464',
    },
    scaleTo: 'vcpu-4_memory-8g',
    badCredentials: { token: '0badc0de0badc0de0badc0de0badc0de' },
  },
  cloudca: {
    createSpec: {
      name: 'contract-web',
      type: '1vCPU.1GB',
      template: 'Ubuntu 24.04',
      sshKey: 'ops-team',
      userData: '#!/bin/bash\necho hello',
      extra: { network: 'Web-production' },
    },
    scaleTo: '2vCPU.4GB',
    badCredentials: { apiKey: 'cca-not-a-valid-key-00000000000000000000' },
  },
};
