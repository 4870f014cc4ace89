import { createHash } from 'node:crypto';

/** A deterministic PRNG (mulberry32): seeded fleets and ids without a dependency. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32 hex digits laid out as a UUID with the given version digit and the RFC 4122 variant. */
function uuidFromHex(hex: string, version: '4' | '5'): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${version}${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A name-derived UUID (v5 layout, SHA-1 of the parts joined by ':'), so a catalogue entry keeps
 * its id whatever the seed: `stableUuid('fleetflow-exoscale-sim', 'template', name)`.
 */
export function stableUuid(...parts: string[]): string {
  return uuidFromHex(createHash('sha1').update(parts.join(':')).digest('hex'), '5');
}

/** A v4-shaped UUID drawn from a seeded random source, so a seeded fleet looks alike run after run. */
export function seededUuid(random: () => number): string {
  return uuidFromHex(Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join(''), '4');
}
