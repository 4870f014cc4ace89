import type { Dynamo } from '../../../functions/store/dynamo.ts';
import type { TableNames } from '../../../functions/store/tables.ts';
import type { DynamoServer } from '../../support/dynamo-servers.ts';

/** Filled in by the suite's beforeAll; the contract functions read it inside their tests. */
export interface StoreContext {
  server: DynamoServer;
  dynamo: Dynamo;
  names: TableNames;
}

export const trigger = { type: 'webhook', actor: 'ci-bot', source: 'github' };

let counter = 0;
/** A job id no other test in the run uses. */
export function newJobId(tag: string): string {
  counter++;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
