import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';

/** Every provider room has the same files, and a README that says the same things about each. */
const ROOT = new URL('../../functions/providers/', import.meta.url);
const FILES = ['client.ts', 'schemas.ts', 'auth.ts', 'index.ts', 'README.md'];
const SECTIONS = [
  /^## .*API/m,
  /authentication/i,
  /asynchronous model|^\| operation/im,
  /^## Quirks/m,
  /^## UNCONFIRMED/m,
];

describe('provider rooms', () => {
  it.each(PROVIDER_IDS)('%s has client, schemas, auth, index and a README with the same sections', (id) => {
    for (const file of FILES) expect(existsSync(new URL(`${id}/${file}`, ROOT)), `${id}/${file}`).toBe(true);
    const readme = readFileSync(new URL(`${id}/README.md`, ROOT), 'utf8');
    for (const section of SECTIONS) expect(readme, `${id}/README.md: ${section}`).toMatch(section);
  });

  it.each(PROVIDER_IDS)('%s exports its capabilities under one name, CAPABILITIES', async (id) => {
    const client = (await import(`../../functions/providers/${id}/client.ts`)) as Record<string, unknown>;
    expect(Object.keys(client).filter((k) => k.endsWith('CAPABILITIES'))).toEqual(['CAPABILITIES']);
  });
});
