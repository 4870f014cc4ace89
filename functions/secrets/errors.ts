/** A reference that does not belong where it is: another job's, or at a field that holds no secret. */
export class SecretReferenceError extends Error {
  override name = 'SecretReferenceError';
}

/** The sealed secrets of a job are gone: deleted when the job ended, or expired. */
export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

/** No usable sealing key: none configured, unreadable, or readable by others. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

/** A sealed record that does not decrypt: altered, moved to another job, or sealed under another key. */
export class SecretIntegrityError extends Error {
  override name = 'SecretIntegrityError';
}
