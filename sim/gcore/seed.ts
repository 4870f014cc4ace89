/**
 * The simulator's seeded catalogue, named as Gcore names things: flavors `g1-<family>-<vcpus>-<ram GiB>`
 * (flavor id and name are the same string), public images `<distro>-<version>-x64`, regions by
 * integer id with their display names.
 */

export interface SimFlavor {
  flavor_id: string;
  flavor_name: string;
  vcpus: number;
  /** MiB, as Gcore reports it. */
  ram: number;
  disabled: boolean;
  architecture: string;
  os_type: string;
  hardware_description: { vcpus: string; ram: string };
}

export interface SimImage {
  id: string;
  name: string;
  status: string;
  os_distro: string;
  os_version: string;
  os_type: string;
  min_disk: number;
  min_ram: number;
  size: number;
  disk_format: string;
  visibility: string;
  architecture: string;
  ssh_key: string;
  created_at: string;
  updated_at: string;
}

function flavor(family: string, vcpus: number, ramGiB: number): SimFlavor {
  const id = `g1-${family}-${vcpus}-${ramGiB}`;
  return {
    flavor_id: id,
    flavor_name: id,
    vcpus,
    ram: ramGiB * 1024,
    disabled: false,
    architecture: 'x86_64',
    os_type: 'linux',
    hardware_description: { vcpus: `${vcpus} vCPU`, ram: `${ramGiB} GiB` },
  };
}

export const FLAVORS: SimFlavor[] = [
  flavor('standard', 1, 2),
  flavor('standard', 2, 4),
  flavor('standard', 2, 8),
  flavor('standard', 4, 8),
  flavor('standard', 4, 16),
  flavor('standard', 8, 32),
  flavor('cpu', 2, 4),
  flavor('cpu', 4, 8),
  flavor('cpu', 8, 16),
  flavor('memory', 2, 16),
  flavor('memory', 4, 32),
];

function image(id: string, distro: string, version: string, minDisk: number): SimImage {
  return {
    id,
    name: `${distro}-${version}-x64`,
    status: 'active',
    os_distro: distro,
    os_version: version,
    os_type: 'linux',
    min_disk: minDisk,
    min_ram: 0,
    size: minDisk * 1024 ** 3,
    disk_format: 'qcow2',
    visibility: 'public',
    architecture: 'x86_64',
    ssh_key: 'allow',
    created_at: '2025-04-28T09:12:44+0000',
    updated_at: '2025-04-28T09:14:02+0000',
  };
}

// Fixed ids: images are public objects whose ids do not depend on the fleet seed.
export const IMAGES: SimImage[] = [
  image('0f3c9a5e-3d1b-4c7e-9a1f-2b8d6e4c1a01', 'ubuntu', '24.04', 5),
  image('1a7d2c4b-8e5f-4a3d-b6c9-3e1f0d2a7b02', 'ubuntu', '22.04', 5),
  image('2b8e3d5c-9f6a-4b4e-87da-4f2a1e3b8c03', 'debian', '12', 3),
  image('3c9f4e6d-0a7b-4c5f-98eb-5a3b2f4c9d04', 'debian', '11', 3),
  image('4da05f7e-1b8c-4d6a-a9fc-6b4c3a5dae05', 'rocky', '9', 10),
  image('5eb1608f-2c9d-4e7b-bafd-7c5d4b6ebf06', 'almalinux', '9', 10),
];

/** Regions the simulator serves, by integer id (76 is the region Gcore's own docs use). */
export const REGIONS: Record<number, string> = { 76: 'Luxembourg-2', 38: 'Frankfurt', 116: 'Amsterdam-2' };
/** Projects the simulator's account owns. */
export const PROJECTS = [1, 2];

// ---- the demo fleet ------------------------------------------------------------------------

export const NAME_PREFIXES = ['web', 'api', 'worker', 'db', 'cache', 'batch', 'edge', 'ml'];
export const ENVS = ['prod', 'staging', 'dev'];
export const TEAMS = ['web', 'data', 'platform', 'ml'];
/** Seeded statuses, weighted towards ACTIVE as a real fleet is. */
export const SEED_STATUSES: Array<[string, string]> = [
  ['ACTIVE', 'active'],
  ['ACTIVE', 'active'],
  ['ACTIVE', 'active'],
  ['ACTIVE', 'active'],
  ['SHUTOFF', 'stopped'],
  ['SHUTOFF', 'stopped'],
  ['SUSPENDED', 'suspended'],
  ['PAUSED', 'paused'],
  ['ERROR', 'error'],
];
