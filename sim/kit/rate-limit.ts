/** The simulators' rate limit: the same token bucket as the providers' client pacing. */
export { TokenBucket } from '../../functions/shared/token-bucket.ts';
