import { DEFAULT_ZONE, ZONES, type Zone } from '../../functions/providers/exoscale/client.ts';
import { stableUuid } from '../kit/index.ts';

export { DEFAULT_ZONE, ZONES, type Zone };

/** The simulator's catalogue, with Exoscale's real naming. Ids are stable across runs and seeds. */

export interface SimInstanceType {
  id: string;
  family: string;
  size: string;
  cpus: number;
  gpus: number;
  memory: number;
  authorized: boolean;
  zones: string[];
}

const GiB = 1024 ** 3;
const TYPE_SPECS: Array<
  [family: string, size: string, cpus: number, memoryGiB: number, authorized?: boolean, gpus?: number]
> = [
  ['standard', 'micro', 1, 0.5],
  ['standard', 'tiny', 1, 1],
  ['standard', 'small', 2, 2],
  ['standard', 'medium', 2, 4],
  ['standard', 'large', 4, 8],
  ['standard', 'extra-large', 4, 16],
  ['standard', 'huge', 8, 32],
  ['standard', 'mega', 12, 64],
  ['standard', 'titan', 16, 128],
  ['standard', 'jumbo', 24, 225],
  ['cpu', 'extra-large', 8, 16],
  ['cpu', 'huge', 16, 32],
  ['memory', 'extra-large', 4, 32],
  ['memory', 'huge', 8, 64],
  // GPU types need an account-level authorisation: listed, but `authorized: false`.
  ['gpu2', 'small', 8, 56, false, 1],
];

export const INSTANCE_TYPES: SimInstanceType[] = TYPE_SPECS.map(
  ([family, size, cpus, mem, authorized = true, gpus = 0]) => ({
    id: stableUuid('fleetflow-exoscale-sim', 'instance-type', `${family}.${size}`),
    family,
    size,
    cpus,
    gpus,
    memory: Math.round(mem * GiB),
    authorized,
    zones: [...ZONES],
  }),
);

export interface SimTemplate {
  id: string;
  name: string;
  description: string;
  family: string;
  visibility: 'public' | 'private';
  'default-user': string;
  'ssh-key-enabled': boolean;
  'password-enabled': boolean;
  'boot-mode': 'legacy' | 'uefi';
  size: number;
  version: string;
  build: string;
  maintainer: string;
  zones: string[];
  'created-at': string;
}

const TEMPLATE_SPECS: Array<
  [name: string, family: string, user: string, version: string, visibility?: 'private', password?: boolean]
> = [
  ['Linux Ubuntu 24.04 LTS 64-bit', 'ubuntu', 'ubuntu', '24.04'],
  ['Linux Ubuntu 22.04 LTS 64-bit', 'ubuntu', 'ubuntu', '22.04'],
  ['Linux Ubuntu 20.04 LTS 64-bit', 'ubuntu', 'ubuntu', '20.04'],
  ['Linux Debian 12 (Bookworm) 64-bit', 'debian', 'debian', '12'],
  ['Linux Debian 11 (Bullseye) 64-bit', 'debian', 'debian', '11'],
  ['acme-golden-image-2025-06', 'ubuntu', 'ubuntu', '24.04', 'private', false],
];

export const TEMPLATES: SimTemplate[] = TEMPLATE_SPECS.map(
  ([name, family, user, version, visibility, password = true]) => ({
    id: stableUuid('fleetflow-exoscale-sim', 'template', name),
    name,
    description: visibility === 'private' ? 'Registered by the account' : `${name} (Exoscale-maintained)`,
    family,
    visibility: visibility ?? 'public',
    'default-user': user,
    'ssh-key-enabled': true,
    'password-enabled': password,
    'boot-mode': 'legacy',
    size: 10 * GiB,
    version,
    build: '2025-06-02-1f0c3a',
    maintainer: visibility === 'private' ? 'acme' : 'Exoscale',
    zones: [...ZONES],
    'created-at': '2025-06-02T09:12:44Z',
  }),
);

export function typeName(t: { family: string; size: string }): string {
  return `${t.family}.${t.size}`;
}
