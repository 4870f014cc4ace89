import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for AWS KMS (the one part of the secret store that cannot run here), speaking its
 * wire protocol (AWS JSON 1.1, `X-Amz-Target: TrentService.<op>`) so the real SDK client is used
 * end to end. It keeps KMS's rules that matter to fleetflow: a data key is bound to its key and
 * encryption context, and Decrypt with another context is an InvalidCiphertextException.
 */
export interface FakeKms {
  url: string;
  keyArn: string;
  calls: Array<{ op: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startFakeKms(): Promise<FakeKms> {
  const master = randomBytes(32);
  const keyArn = `arn:aws:kms:us-east-1:123456789012:key/${randomBytes(16).toString('hex')}`;
  const calls: FakeKms['calls'] = [];
  const aad = (context: unknown) => Buffer.from(`${keyArn}|${JSON.stringify(context ?? {})}`);

  const answer = (op: string, body: Record<string, unknown>): [number, Record<string, unknown>] => {
    if (body.KeyId !== keyArn)
      return [400, { __type: 'NotFoundException', message: `key ${String(body.KeyId)} not found` }];
    if (op === 'GenerateDataKey') {
      if (body.KeySpec !== 'AES_256') return [400, { __type: 'ValidationException', message: 'KeySpec' }];
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv);
      cipher.setAAD(aad(body.EncryptionContext));
      const blob = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return [
        200,
        { KeyId: keyArn, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') },
      ];
    }
    if (op === 'Decrypt') {
      try {
        const blob = Buffer.from(String(body.CiphertextBlob), 'base64');
        const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12));
        decipher.setAAD(aad(body.EncryptionContext));
        decipher.setAuthTag(blob.subarray(blob.length - 16));
        const plaintext = Buffer.concat([
          decipher.update(blob.subarray(12, blob.length - 16)),
          decipher.final(),
        ]);
        return [200, { KeyId: keyArn, Plaintext: plaintext.toString('base64') }];
      } catch {
        return [400, { __type: 'InvalidCiphertextException', message: 'The ciphertext is invalid' }];
      }
    }
    return [400, { __type: 'UnsupportedOperationException', message: op }];
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      calls.push({ op, body });
      const [status, out] = answer(op, body);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keyArn,
    calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
