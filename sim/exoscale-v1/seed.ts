import { stableUuid } from '../kit/index.ts';

/**
 * The simulator's catalogue, with Exoscale's real naming: zones by name, service offerings as
 * listed on the v1 API page (same ids, sizes and display texts), and featured templates per zone.
 */

export interface SimZone {
  id: string;
  name: string;
}

// Ids of the older zones as the v1 API reports them; the newer zones get stable made-up ids.
export const ZONES: SimZone[] = [
  { id: '1128bd56-b4d9-4ac6-a7b9-c715b187ce11', name: 'ch-gva-2' },
  { id: '91e5e9e4-c9ed-4b76-bee4-427004b3baf9', name: 'ch-dk-2' },
  { id: '4da1b188-dcd6-4ff5-b7fd-bde984055548', name: 'at-vie-1' },
  { id: stableUuid('zone:at-vie-2'), name: 'at-vie-2' },
  { id: '35eb7739-d19e-45f7-a581-4687c54d6d02', name: 'de-fra-1' },
  { id: '85664334-0fd5-47bd-94a1-b4f40b1d2eb7', name: 'de-muc-1' },
  { id: '70e5f8b1-0b2c-4457-a5e0-88bcf1f3db68', name: 'bg-sof-1' },
  { id: stableUuid('zone:hr-zag-1'), name: 'hr-zag-1' },
];

export interface SimServiceOffering {
  id: string;
  name: string;
  displaytext: string;
  cpunumber: number;
  memory: number;
  authorized: boolean;
}

export const SERVICE_OFFERINGS: SimServiceOffering[] = [
  {
    id: '71004023-bb72-4a97-b1e9-bc66dfce9470',
    name: 'Micro',
    displaytext: 'Micro 512mb 1cpu',
    cpunumber: 1,
    memory: 512,
    authorized: true,
  },
  {
    id: 'b6cd1ff5-3a2f-4e9d-a4d1-8988c1191fe8',
    name: 'Tiny',
    displaytext: 'Tiny 1024mb 1cpu',
    cpunumber: 1,
    memory: 1024,
    authorized: true,
  },
  {
    id: '21624abb-764e-4def-81d7-9fc54b5957fb',
    name: 'Small',
    displaytext: 'Small 2048mb 2cpu',
    cpunumber: 2,
    memory: 2048,
    authorized: true,
  },
  {
    id: 'b6e9d1e8-89fc-4db3-aaa4-9b4c5b1d0844',
    name: 'Medium',
    displaytext: 'Medium 4096mb 2cpu',
    cpunumber: 2,
    memory: 4096,
    authorized: true,
  },
  {
    id: 'c6f99499-7f59-4138-9427-a09db13af2bc',
    name: 'Large',
    displaytext: 'Large 8192mb 4cpu',
    cpunumber: 4,
    memory: 8192,
    authorized: true,
  },
  {
    id: '350dc5ea-fe6d-42ba-b6c0-efb8b75617ad',
    name: 'Extra-large',
    displaytext: 'Extra-large 16384mb 4cpu',
    cpunumber: 4,
    memory: 16384,
    authorized: true,
  },
  {
    id: 'a216b0d1-370f-4e21-a0eb-3dfc6302b564',
    name: 'Huge',
    displaytext: 'Huge 32768mb 8cpu',
    cpunumber: 8,
    memory: 32768,
    authorized: true,
  },
  {
    id: 'c0d3fb5d-6fdb-4a63-9361-3e5cfa8b36d0',
    name: 'Mega',
    displaytext: 'Mega 64gb 12cpu',
    cpunumber: 12,
    memory: 65536,
    authorized: false,
  },
  {
    id: '74bfaf4e-7d67-4adf-9322-12b9a36e84f7',
    name: 'Titan',
    displaytext: 'Titan 128gb 16cpu',
    cpunumber: 16,
    memory: 131072,
    authorized: false,
  },
];

export const CPU_SPEED = 2198;

export interface SimTemplateKind {
  name: string;
  displaytext: string;
  ostypename: string;
  oscategoryname: string;
  username: string;
  sizeGb: number;
}

export const TEMPLATE_KINDS: SimTemplateKind[] = [
  {
    name: 'Linux Ubuntu 24.04 LTS 64-bit',
    displaytext: 'Linux Ubuntu 24.04 LTS 64-bit 10G Disk',
    ostypename: 'Other PV (64-bit)',
    oscategoryname: 'Ubuntu',
    username: 'ubuntu',
    sizeGb: 10,
  },
  {
    name: 'Linux Ubuntu 22.04 LTS 64-bit',
    displaytext: 'Linux Ubuntu 22.04 LTS 64-bit 10G Disk',
    ostypename: 'Other PV (64-bit)',
    oscategoryname: 'Ubuntu',
    username: 'ubuntu',
    sizeGb: 10,
  },
  {
    name: 'Linux Debian 12 (Bookworm) 64-bit',
    displaytext: 'Linux Debian 12 (Bookworm) 64-bit 10G Disk',
    ostypename: 'Debian GNU/Linux 12 (64-bit)',
    oscategoryname: 'Debian',
    username: 'debian',
    sizeGb: 10,
  },
  {
    name: 'Linux Debian 11 (Bullseye) 64-bit',
    displaytext: 'Linux Debian 11 (Bullseye) 64-bit 10G Disk',
    ostypename: 'Debian GNU/Linux 11 (64-bit)',
    oscategoryname: 'Debian',
    username: 'debian',
    sizeGb: 10,
  },
  {
    name: 'Linux Rocky Linux 9 64-bit',
    displaytext: 'Linux Rocky Linux 9 64-bit 10G Disk',
    ostypename: 'Other PV (64-bit)',
    oscategoryname: 'Rocky Linux',
    username: 'rocky',
    sizeGb: 10,
  },
  {
    name: 'Linux AlmaLinux 9 64-bit',
    displaytext: 'Linux AlmaLinux 9 64-bit 10G Disk',
    ostypename: 'Other PV (64-bit)',
    oscategoryname: 'AlmaLinux',
    username: 'almalinux',
    sizeGb: 10,
  },
  {
    name: 'Windows Server 2022 64-bit',
    displaytext: 'Windows Server 2022 64-bit 50G Disk',
    ostypename: 'Windows Server 2022 (64-bit)',
    oscategoryname: 'Windows',
    username: 'Administrator',
    sizeGb: 50,
  },
];

export interface SimTemplate extends SimTemplateKind {
  id: string;
  zoneid: string;
  zonename: string;
}

/** Exoscale templates are per zone: the same name has another id in each zone. */
export const TEMPLATES: SimTemplate[] = ZONES.flatMap((zone) =>
  TEMPLATE_KINDS.map((kind) => ({
    ...kind,
    id: stableUuid(`template:${zone.name}:${kind.name}`),
    zoneid: zone.id,
    zonename: zone.name,
  })),
);

/** The account's registered SSH key pairs (the demo fleet uses `ops`). */
export const SSH_KEYPAIRS = [{ name: 'ops', fingerprint: '3c:1f:8b:90:6a:2e:51:d7:c4:0b:9e:77:12:a5:f3:68' }];
