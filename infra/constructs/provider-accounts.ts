import { Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ProviderId } from '../../functions/providers/port.ts';

export interface AccountRef {
  provider: ProviderId;
  account: string;
  /** The provider API's base URL when not the public one (the config file's `endpoint`). */
  endpoint?: string;
}

/**
 * One Secrets Manager secret per provider account. The template creates the secret empty (a
 * generated placeholder); the user puts the credentials in with `aws secretsmanager put-secret-value`,
 * so no credential ever sits in a template or a repository.
 */
export class ProviderAccounts extends Construct {
  readonly secrets: Array<AccountRef & { secret: secretsmanager.Secret }> = [];

  constructor(scope: Construct, id: string, props: { accounts: AccountRef[] }) {
    super(scope, id);
    for (const ref of props.accounts) {
      const secret = new secretsmanager.Secret(this, `${ref.provider}-${ref.account}`, {
        secretName: `fleetflow/${ref.provider}/${ref.account}`,
        description: `fleetflow credentials for ${ref.provider} account ${ref.account} (JSON; see README "Secrets")`,
      });
      // Provider API keys are issued in each provider's console or API by the account
      // owner; there is no rotation Lambda that could mint one, so rotation is a documented manual
      // step (docs/deploy.md "Rotating provider credentials").
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `The ${ref.provider} credentials are issued by ${ref.provider} to the account owner, not by AWS: no rotation function can create new ones. Rotation is manual (put-secret-value with a new key, then revoke the old one at the provider), see docs/deploy.md.`,
      });
      this.secrets.push({ ...ref, secret });
    }
  }

  /** FLEETFLOW_ACCOUNTS for the functions: which secret holds which account's credentials. */
  environment(): Record<string, string> {
    return {
      FLEETFLOW_ACCOUNTS: JSON.stringify(
        this.secrets.map((s) => ({
          provider: s.provider,
          account: s.account,
          ...(s.endpoint && { endpoint: s.endpoint }),
          secretArn: s.secret.secretArn,
        })),
      ),
    };
  }

  grantRead(grantee: iam.IGrantable): void {
    for (const { secret } of this.secrets) secret.grantRead(grantee);
  }
}
