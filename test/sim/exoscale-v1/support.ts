import { type Params, signParams } from '../../../functions/providers/exoscale-v1/auth.ts';
import { responseKey } from '../../../functions/providers/exoscale-v1/schemas.ts';
import type { ExoscaleV1Simulator } from '../../../sim/exoscale-v1/simulator.ts';

export interface Call {
  params: Params;
  secret?: string;
  method?: 'GET' | 'POST';
  /** Replace or drop the signature after signing. */
  signature?: string | null;
}

type Body = Record<string, Record<string, unknown>>;

/** A CloudStack client over real HTTP against the simulator, as the tests need one. */
export function cloudstackClient(current: () => ExoscaleV1Simulator) {
  const key = () => current().credentials.apiKey;

  /** Signs as a client would (cs style by default: camelCase names) and sends. */
  async function send({ params, secret = current().credentials.apiSecret, method = 'GET', signature }: Call) {
    const all: Params = [...params, ['response', 'json']];
    const sig = signParams(all, secret);
    if (signature !== null) all.push(['signature', signature ?? sig]);
    const qs = new URLSearchParams(all).toString();
    const url = current().endpoint();
    const res =
      method === 'GET'
        ? await fetch(`${url}?${qs}`)
        : await fetch(url, {
            method: 'POST',
            body: qs,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
  }

  /** One command with its parameters; the answer under its `<command>response` key, and the status. */
  async function call(command: string, params: Record<string, string> = {}) {
    const { status, body } = await send({
      params: [['command', command], ['apiKey', key()], ...Object.entries(params)],
    });
    return { status, answer: body[responseKey(command)] ?? {} };
  }

  async function waitJob(jobid: string) {
    for (let i = 0; i < 200; i++) {
      const { answer: job } = await call('queryAsyncJobResult', { jobid });
      if (job.jobstatus !== 0) return job;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('job never finished');
  }

  /** An async command run to its end, as Libcloud's _async_request does: the job's result. */
  async function run(command: string, params: Record<string, string> = {}) {
    const { status, answer } = await call(command, params);
    if (status !== 200) throw new Error(`${command}: ${status} ${JSON.stringify(answer)}`);
    return waitJob(answer.jobid as string);
  }

  async function firstVm(state: string) {
    const { answer } = await call('listVirtualMachines', { state });
    return (answer.virtualmachine as Array<Record<string, unknown>>)[0]!;
  }

  return { key, send, call, waitJob, run, firstVm };
}
