/**
 * The simulator's seeded catalogue, named as cloud.ca names things: compute offerings like
 * `1vCPU.1GB` plus the custom "Custom CPU and memory" offering (api-docs, compute offerings),
 * public templates by OS name, zones QC-1/QC-2/ON-1 under the service codes `compute-qc` and
 * `compute-on` (api-docs `_compute.md`). Ids are fixed so fixtures and docs stay stable.
 */

export interface CatalogueOffering {
  id: string;
  name: string;
  custom: boolean;
  cpuCount?: number;
  memoryInMB?: number;
  availableCpuCountValues?: number[];
  availableMemoryInMBValues?: number[];
  maxMemoryInMBToCpuRatio?: number;
}

export interface CatalogueTemplate {
  id: string;
  name: string;
  description: string;
  size: number;
  isPublic: boolean;
  isReady: boolean;
  isDynamicallyScalable: boolean;
  sshKeyEnabled: boolean;
  created: string;
  osType: string;
}

export interface CatalogueZone {
  id: string;
  name: string;
}

export const COMPUTE_OFFERINGS: CatalogueOffering[] = [
  {
    id: '3caab5ed-b5a2-4d8a-82e4-51c46168ee6c',
    name: '1vCPU.512MB',
    custom: false,
    cpuCount: 1,
    memoryInMB: 512,
  },
  {
    id: '1fb0caba-8ffb-4e77-8dcb-401170e15e0a',
    name: '1vCPU.1GB',
    custom: false,
    cpuCount: 1,
    memoryInMB: 1024,
  },
  {
    id: '5c1a3f0e-2b7d-4c2e-9e51-7a0c9d1b2e01',
    name: '1vCPU.2GB',
    custom: false,
    cpuCount: 1,
    memoryInMB: 2048,
  },
  {
    id: '8d2e4a1f-3c8e-4d3f-a062-8b1d0e2c3f02',
    name: '2vCPU.2GB',
    custom: false,
    cpuCount: 2,
    memoryInMB: 2048,
  },
  {
    id: '9e3f5b2a-4d9f-4e4a-b173-9c2e1f3d4a03',
    name: '2vCPU.4GB',
    custom: false,
    cpuCount: 2,
    memoryInMB: 4096,
  },
  {
    id: 'af406c3b-5ea0-4f5b-8284-ad3f2a4e5b04',
    name: '4vCPU.8GB',
    custom: false,
    cpuCount: 4,
    memoryInMB: 8192,
  },
  {
    id: 'b0517d4c-6fb1-4a6c-9395-be4a3b5f6c05',
    name: '8vCPU.16GB',
    custom: false,
    cpuCount: 8,
    memoryInMB: 16384,
  },
  {
    id: '40a2e5f7-22e6-4d1e-b03b-4a4b7c9cbc6f',
    name: 'Custom CPU and memory',
    custom: true,
    availableCpuCountValues: [1, 2, 4, 8, 16],
    availableMemoryInMBValues: [1024, 2048, 4096, 8192, 16384, 32768],
    maxMemoryInMBToCpuRatio: 8192,
  },
];

export const TEMPLATES: CatalogueTemplate[] = [
  template(
    '0b3fea04-b1ed-48cf-921d-96795dfe9a81',
    'Ubuntu 24.04',
    'Ubuntu 24.04 LTS (Noble Numbat)',
    'Ubuntu (64-bit)',
  ),
  template(
    '6a2c1e3d-7b8f-4c9a-8d0e-1f2a3b4c5d61',
    'Ubuntu 22.04',
    'Ubuntu 22.04 LTS (Jammy Jellyfish)',
    'Ubuntu (64-bit)',
  ),
  template(
    '7b3d2f4e-8c9a-4dab-9e1f-2a3b4c5d6e72',
    'Debian 12',
    'Debian 12 (Bookworm)',
    'Debian GNU/Linux 12 (64-bit)',
  ),
  template('8c4e3a5f-9dab-4ebc-af2a-3b4c5d6e7f83', 'CentOS Stream 9', 'CentOS Stream 9', 'CentOS 9 (64-bit)'),
  template(
    '9d5f4b6a-aebc-4fcd-b03b-4c5d6e7f8a94',
    'Rocky Linux 9',
    'Rocky Linux 9',
    'Rocky Linux 9 (64-bit)',
  ),
  template(
    'ae6a5c7b-bfcd-4ade-814c-5d6e7f8a9ba5',
    'Windows Server 2022',
    'Windows Server 2022 Standard',
    'Windows Server 2022 (64-bit)',
    false,
  ),
];

/** Zones by service code (cloud.ca: compute-qc is Québec, compute-on is Ontario). */
export const ZONES: Record<string, CatalogueZone[]> = {
  'compute-qc': [
    { id: '04afdbd1-e32d-4999-86d0-96703736dded', name: 'QC-1' },
    { id: 'ea901007-056b-4c50-bb3a-2dd635fce2ab', name: 'QC-2' },
  ],
  'compute-on': [{ id: 'c3e1d6a2-5f4b-4e8a-9c7d-0b1a2e3f4d5c', name: 'ON-1' }],
};

/** Environments that exist in the simulator, as `<service_code>/<environment>`. */
export const ENVIRONMENTS = ['compute-qc/production', 'compute-qc/staging', 'compute-on/production'] as const;

/** SSH keys registered in every simulated environment. */
export const SSH_KEYS = ['ops-team', 'deploy-bot'];

/** Name stems for the seeded fleet. */
export const FLEET_NAMES = ['web', 'api', 'worker', 'db', 'cache', 'batch', 'bastion', 'ci-runner'];

function template(
  id: string,
  name: string,
  description: string,
  osType: string,
  sshKeyEnabled = true,
): CatalogueTemplate {
  return {
    id,
    name,
    description,
    size: 10_737_418_240,
    isPublic: true,
    isReady: true,
    isDynamicallyScalable: true,
    sshKeyEnabled,
    created: '2024-04-25 10:12:00 AM EDT',
    osType,
  };
}
