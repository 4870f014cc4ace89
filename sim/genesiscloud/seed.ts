import { DEFAULT_REGION as ADAPTER_DEFAULT_REGION } from '../../functions/providers/genesiscloud/client.ts';
import { stableUuid } from '../kit/index.ts';

/**
 * The simulator's catalogue, with Genesis Cloud's real naming: regions from the Terraform
 * provider's validator, instance type identifiers from developers.genesiscloud.com/instances
 * (current form `vcpu-<n>_memory-<n>g[_<accelerator>-<count>]`; the CPU form `vcpu-2_memory-4g`
 * is the Terraform docs' example). Which region offers which type is UNCONFIRMED.
 */

export const REGIONS = [
  'EUC-DE-MUC-1',
  'EUW-GB-MNC-1',
  'EUW-NL-AMS-1',
  'NA-CA-FTS-1',
  'NA-CA-MNZ-1',
  'NA-CA-PRG-1',
  'NORD-NO-KRS-1',
] as const;
export type Region = (typeof REGIONS)[number];
export const DEFAULT_REGION: Region = ADAPTER_DEFAULT_REGION;

export function isRegion(value: unknown): value is Region {
  return typeof value === 'string' && (REGIONS as readonly string[]).includes(value);
}

export interface SimInstanceType {
  /** The API identifier; Genesis Cloud has no separate id or display name in the API. */
  name: string;
  vcpus: number;
  memoryGiB: number;
  accelerator?: string;
  accelerators: number;
  regions: Region[];
}

const CPU_REGIONS: Region[] = [...REGIONS];
const RTX_REGIONS: Region[] = ['NORD-NO-KRS-1', 'EUC-DE-MUC-1'];
const DC_REGIONS: Region[] = ['NORD-NO-KRS-1', 'EUW-NL-AMS-1', 'NA-CA-FTS-1'];

function gpuFamily(
  accelerator: string,
  vcpusPerUnit: number,
  memoryPerUnit: number,
  max: number,
  regions: Region[],
) {
  return Array.from({ length: max }, (_, i): SimInstanceType => {
    const n = i + 1;
    return {
      name: `vcpu-${vcpusPerUnit * n}_memory-${memoryPerUnit * n}g_${accelerator}-${n}`,
      vcpus: vcpusPerUnit * n,
      memoryGiB: memoryPerUnit * n,
      accelerator,
      accelerators: n,
      regions,
    };
  });
}

export const INSTANCE_TYPES: SimInstanceType[] = [
  ...[2, 4, 8, 12, 16, 20, 24].map(
    (v): SimInstanceType => ({
      name: `vcpu-${v}_memory-${v * 2}g`,
      vcpus: v,
      memoryGiB: v * 2,
      accelerators: 0,
      regions: CPU_REGIONS,
    }),
  ),
  ...gpuFamily('nvidia-rtx-3080', 4, 12, 8, RTX_REGIONS),
  ...gpuFamily('nvidia-rtx-3090', 4, 24, 8, RTX_REGIONS),
  ...gpuFamily('intel-gaudi2', 16, 120, 8, ['EUC-DE-MUC-1']),
  {
    name: 'vcpu-192_memory-1920g_nvidia-h100-sxm5-8',
    vcpus: 192,
    memoryGiB: 1920,
    accelerator: 'nvidia-h100-sxm5',
    accelerators: 8,
    regions: DC_REGIONS,
  },
];

export interface SimImage {
  id: string;
  name: string;
  /** `cloud-image` in the 2025 Go client; the older OpenAPI file had base-os/preconfigured/snapshot. */
  type: 'cloud-image';
  family: string;
  /** Slug and versions: the Terraform docs accept `<slug>:<version>` (e.g. `ubuntu:22.04`). */
  slug: string;
  versions: string[];
  osType: 'linux';
  regions: Region[];
  createdAt: string;
}

function image(name: string, family: string, slug: string, versions: string[], createdAt: string): SimImage {
  return {
    id: stableUuid('fleetflow-genesiscloud-sim', 'image', name),
    name,
    type: 'cloud-image',
    family,
    slug,
    versions,
    osType: 'linux',
    regions: [...REGIONS],
    createdAt,
  };
}

export const IMAGES: SimImage[] = [
  image('Ubuntu 24.04', 'ubuntu', 'ubuntu-24.04', ['24.04'], '2024-05-02T09:12:41.000Z'),
  image('Ubuntu 22.04', 'ubuntu', 'ubuntu-22.04', ['22.04'], '2022-05-10T08:31:03.000Z'),
  image('Ubuntu 20.04', 'ubuntu', 'ubuntu-20.04', ['20.04'], '2020-05-04T10:02:19.000Z'),
];

/** Finds an image by id, slug, `slug:version` or name (the API accepts id, slug or `slug:version`). */
export function findImage(ref: string): SimImage | undefined {
  const [slug, version] = ref.split(':');
  return IMAGES.find(
    (i) =>
      i.id === ref ||
      i.slug === ref ||
      (version !== undefined && i.slug === slug && i.versions.includes(version)),
  );
}

export function typesIn(region: string): SimInstanceType[] {
  return INSTANCE_TYPES.filter((t) => (t.regions as string[]).includes(region));
}
