import type { Logger } from '../log.ts';
import type { RetryPolicy } from './http/retry.ts';
import type { Capabilities, ComputeProvider, ProviderId } from './port.ts';

/** Everything fleetflow needs to know about one provider; each provider room exports one. */
export interface ProviderDefinition {
  id: ProviderId;
  title: string;
  /** The adapter's declared capabilities (also rendered into the README's capability table). */
  capabilities: Capabilities;
  /** Environment variables holding the credentials, e.g. EXOSCALE_API_KEY. */
  credentialEnv: string[];
  /** Reads credentials from the environment; undefined when they are not all set. */
  credentialsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> | undefined;
  /** The CLI options that make up a location, e.g. `--zone`, or `--project` + `--region`. */
  locationOptions: Array<{ flag: string; key: string; description: string }>;
  /** Combines those option values into the adapter's location string; throws a clear error when incomplete. */
  locationFrom(values: Record<string, string | undefined>): string;
  defaultLocation?: string;
  /** The real API's base URL for a location. */
  defaultEndpoint(location: string): string;
  createAdapter(args: AdapterArgs): ComputeProvider;
}

export interface AdapterArgs {
  location: string;
  credentials: Record<string, string>;
  /** Overrides the real endpoint (a simulator, a proxy). */
  endpoint?: string;
  retry?: RetryPolicy;
  logger?: Logger;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** The account's rate limit: its calls are paced to it in this process. */
  requestsPerSecond?: number;
}
