import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import type { Command } from 'commander';
import { registerSecret } from '../../functions/shared/redact.ts';
import { sendSigned, WebhookSendError } from '../../functions/webhooks/send.ts';
import { print } from '../output.ts';
import { dataDirOption, httpBase, routeUrl, urlOption } from '../running-start.ts';

/** `fleetflow webhook send <file.json>`: signs a JSON file with Standard Webhooks and POSTs it. */

const PROVISION_ROUTE = 'webhooks/provision';

class WebhookCommandError extends Error {
  override name = 'WebhookCommandError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** --secret, then FLEETFLOW_WEBHOOK_SECRET, then the one `fleetflow start` wrote. */
async function resolveSecret(flag: string | undefined, dataDir: string): Promise<string> {
  const secret =
    flag?.trim() ||
    process.env.FLEETFLOW_WEBHOOK_SECRET?.trim() ||
    (await readOptional(join(dataDir, 'webhook-secret')))?.trim();
  if (!secret) {
    throw new WebhookCommandError(
      'no webhook secret: none given with --secret, none in FLEETFLOW_WEBHOOK_SECRET, none in the data folder',
      `start the server first (\`fleetflow start --data-dir ${dataDir}\` writes ${join(dataDir, 'webhook-secret')}) or set FLEETFLOW_WEBHOOK_SECRET=whsec_…`,
    );
  }
  registerSecret(secret);
  return secret;
}

interface SendOptions {
  url?: string;
  secret?: string;
  id?: string;
  dataDir: string;
  json?: boolean;
}

async function send(file: string, options: SendOptions): Promise<void> {
  let payload: string;
  try {
    payload = await readFile(file, 'utf8');
  } catch (error) {
    throw new WebhookCommandError(
      `cannot read ${file}: ${(error as { code?: string }).code ?? String(error)}`,
    );
  }
  try {
    JSON.parse(payload);
  } catch {
    throw new WebhookCommandError(`${file} is not valid JSON`, 'the webhook body must be one JSON document');
  }
  const secret = await resolveSecret(options.secret, options.dataDir);
  const url = routeUrl(httpBase(options), PROVISION_ROUTE);

  let answer: Awaited<ReturnType<typeof sendSigned>>;
  try {
    answer = await sendSigned({ url, secret, payload, ...(options.id ? { id: options.id } : {}) });
  } catch (error) {
    if (error instanceof WebhookSendError) {
      throw new WebhookCommandError(
        error.message,
        'is `fleetflow start` running? pass --url to send elsewhere',
      );
    }
    throw error;
  }

  const ok = answer.status >= 200 && answer.status < 300;
  const body = answer.json ?? (answer.text || undefined);
  print({ ok, status: answer.status, webhookId: answer.webhookId, url, body }, options.json === true, () => {
    const line = `${answer.status} ${STATUS_CODES[answer.status] ?? ''}`.trim();
    const shown = answer.json === undefined ? answer.text : JSON.stringify(answer.json, null, 2);
    return `${line}  (webhook-id ${answer.webhookId})${shown ? `\n${shown}` : ''}`;
  });
  if (!ok) {
    const error = (answer.json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const detail = error?.code
      ? `${error.code}: ${error.message ?? ''}`.trim()
      : (STATUS_CODES[answer.status] ?? 'error');
    throw new WebhookCommandError(`webhook rejected with ${answer.status} ${detail.split('\n')[0]}`);
  }
}

export function registerWebhook(program: Command): void {
  const webhook = program.command('webhook').description('signed webhooks (Standard Webhooks)');
  webhook
    .command('send')
    .description(
      'sign a JSON file with Standard Webhooks and POST it to /webhooks/provision (re-sending the same file is a redelivery)',
    )
    .argument('<file>', 'JSON body to send')
    .addOption(urlOption())
    .option(
      '--secret <whsec>',
      'signing secret (default: $FLEETFLOW_WEBHOOK_SECRET, then <data-dir>/webhook-secret)',
    )
    .option(
      '--id <id>',
      'webhook-id (default: msg_ + a hash of the file, so the same file is the same delivery)',
    )
    .addOption(dataDirOption())
    .option('--json', 'print the answer as JSON')
    .action(async (file: string, options: SendOptions) => send(file, options));
}
