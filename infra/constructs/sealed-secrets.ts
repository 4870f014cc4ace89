import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { SECRETS_KEY_ENV } from '../../functions/secrets/keys.ts';
import type { DataLayer } from './data-layer.ts';

/**
 * The sealing of provisioning secrets on AWS: a customer-managed KMS key for envelope encryption,
 * and the grants that split its use. Only the ingest function asks for data keys (to seal), only
 * the provider-calling create step decrypts them (to resolve), and both only with a job id as the
 * encryption context, so every Decrypt in CloudTrail names the job it opened. The ciphertext sits
 * in the data layer's secrets table (TTL'd, no point-in-time recovery). Why KMS and not Secrets
 * Manager: docs/security.md.
 */
export class SealedSecrets extends Construct {
  readonly key: kms.Key;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: { data: DataLayer },
  ) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'fleetflow: seals provisioning secrets (envelope encryption, one data key per job)',
      enableKeyRotation: true,
      // Sealed records live hours; nothing of value needs the key after the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
  }

  /** The key reference for a function's environment (read back by sealingKeyFromEnv()). */
  environment(): Record<string, string> {
    return { [SECRETS_KEY_ENV]: this.key.keyArn };
  }

  /** Seal: new data keys for a job, and the conditional put (and withdrawal) of its record. */
  grantSeal(grantee: IGrantable): void {
    this.#grantKey(grantee, 'kms:GenerateDataKey');
    this.props.data.grantSecretsSeal(grantee);
  }

  /** Open: decrypt a job's data key, read its record, delete it once used. */
  grantOpen(grantee: IGrantable): void {
    this.#grantKey(grantee, 'kms:Decrypt');
    this.props.data.grantSecretsOpen(grantee);
  }

  #grantKey(grantee: IGrantable, action: string): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: [action],
      resourceArns: [this.key.keyArn],
      // Only with a job id as encryption context: data keys of this key are always job-bound.
      conditions: { StringLike: { 'kms:EncryptionContext:fleetflow:job': '?*' } },
    });
  }
}
