import type { JsonValue } from '../store/schemas.ts';
import {
  type DigestKeyring,
  fieldPointer,
  type ProofOutcome,
  proveDigest,
  type SealedDigest,
} from './digest.ts';

/**
 * `fleetflow audit prove`: did job J send value V as field F? The answer comes from the keyed
 * digests its audit intents keep (digest.ts), checked with the audit key; the value is never read
 * from anywhere but the person asking.
 */

/** What proving needs from the audit trail (AuditLog has both). */
export interface ProofSource {
  keyring(): Promise<DigestKeyring>;
  jobEvents(jobId: string): AsyncIterable<{
    kind: string;
    chain: string;
    seq: number;
    at: string;
    action: string;
    parameters?: unknown;
  }>;
}

export interface FieldProof {
  chain: string;
  seq: number;
  at: string;
  action: string;
  keyId: string;
  outcome: ProofOutcome;
}

/** Every intent of the job that sent the field, each with whether `value` is what it sent; empty when none did. */
export async function proveSealedField(
  source: ProofSource,
  jobId: string,
  field: string,
  value: JsonValue,
): Promise<FieldProof[]> {
  const pointer = fieldPointer(field);
  const keyring = await source.keyring();
  const proofs: FieldProof[] = [];
  for await (const event of source.jobEvents(jobId)) {
    if (event.kind !== 'intent') continue;
    const sealed = (event.parameters as { sealed?: SealedDigest[] } | undefined)?.sealed;
    for (const digest of Array.isArray(sealed) ? sealed : []) {
      if (digest.field !== pointer) continue;
      proofs.push({
        chain: event.chain,
        seq: event.seq,
        at: event.at,
        action: event.action,
        keyId: digest.keyId,
        outcome: proveDigest(keyring, jobId, digest, value),
      });
    }
  }
  return proofs;
}
