/**
 * One Exoscale API key serves both APIs (v2 and the v1 CloudStack compute API), so both provider
 * definitions read it the same way, from the same variables.
 */
export const EXOSCALE_CREDENTIAL_ENV = ['EXOSCALE_API_KEY', 'EXOSCALE_API_SECRET'];

export function exoscaleCredentialsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const apiKey = env.EXOSCALE_API_KEY;
  const apiSecret = env.EXOSCALE_API_SECRET;
  return apiKey && apiSecret ? { apiKey, apiSecret } : undefined;
}
