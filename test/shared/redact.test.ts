import { describe, expect, it } from 'vitest';
import { redactText, redactValue, registerSecret } from '../../functions/shared/redact.ts';

describe('redaction', () => {
  it('scrubs registered secrets wherever they appear', () => {
    registerSecret('s3cr3t-value-123');
    expect(redactText('failed with s3cr3t-value-123 inside')).toBe('failed with [REDACTED] inside');
  });

  it('scrubs credentials by shape', () => {
    const text = [
      'Authorization: EXO2-HMAC-SHA256 credential=EXOabc,expires=1,signature=abc=',
      'GET /compute?apikey=KEY123&signature=SIG%3D&command=listZones',
      '{"apiKey":"k-1","token":"t-1","name":"web"}',
      'MC-Api-Key: abcdef',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'Bearer eyJhbGciOi.abc.def',
    ].join('\n');
    const out = redactText(text);
    for (const leaked of ['EXOabc', 'KEY123', 'SIG%3D', 'k-1', 't-1', 'abcdef', 'MfKQ9r8G', 'eyJhbGciOi']) {
      expect(out).not.toContain(leaked);
    }
    expect(out).toContain('command=listZones');
    expect(out).toContain('"name":"web"');
  });

  it('redacts sensitive keys in structured values, deeply', () => {
    const v = redactValue({
      provider: 'gcore',
      credentials: { apiKey: 'x' },
      nested: [{ password: 'p', keep: 1 }],
    });
    expect(v).toEqual({
      provider: 'gcore',
      credentials: '[REDACTED]',
      nested: [{ password: '[REDACTED]', keep: 1 }],
    });
  });
});
