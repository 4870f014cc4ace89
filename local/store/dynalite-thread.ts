import { Worker } from 'node:worker_threads';
import type { DirectRequest, DirectResponse } from '../../functions/store/direct.ts';
import type { LocalDynamo, StartDynaliteOptions } from './dynalite.ts';
import { DataFolderLockedError } from './level.ts';

/**
 * dynalite on a thread of its own: the same server as startDynalite, but its request parsing,
 * signature checks and LevelDB work run beside the local engine and its Lambda handlers instead
 * of on their thread (a schedule run over thousands of instances is otherwise CPU-bound on one
 * core). Same options and the same answers; damage reports arrive as messages.
 */
export function startDynaliteThread(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  const { onDamage, ...rest } = options;
  const worker = new Worker(new URL('./dynalite-thread.mjs', import.meta.url), { workerData: rest });
  return new Promise((resolve, reject) => {
    let closed: Promise<void> | undefined;
    let whenClosed: (() => void) | undefined;
    let ready = false;
    // Requests on the direct line waiting for the thread's answer, by id.
    const waiting = new Map<number, { resolve: (r: DirectResponse) => void; reject: (e: Error) => void }>();
    let nextId = 0;
    // Set once the thread has stopped: the line then refuses at once (a message to it would be lost).
    let gone: Error | undefined;
    const failWaiting = (error: Error) => {
      gone = error;
      for (const w of waiting.values()) w.reject(error);
      waiting.clear();
    };
    // Dying on its own is what an uncaught error in dynalite did in-process: the process goes down
    // with it (a restart recovers), rather than running on without its store.
    const died = (error: Error) => {
      if (!ready) return reject(error);
      setImmediate(() => {
        throw error;
      });
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      failWaiting(new Error(`the DynamoDB thread stopped (exit code ${code})`));
      if (whenClosed) return whenClosed();
      died(new Error(`the DynamoDB thread stopped (exit code ${code})`));
    });
    worker.on('message', (message: ThreadMessage) => {
      switch (message.type) {
        case 'damage':
          onDamage?.(message.damage);
          break;
        case 'answer': {
          const w = waiting.get(message.id);
          waiting.delete(message.id);
          if (message.response) w?.resolve(message.response);
          else w?.reject(Object.assign(new Error(message.error ?? 'no answer'), { name: 'DirectLineError' }));
          break;
        }
        case 'failed': {
          void worker.terminate();
          const error =
            message.name === 'DataFolderLockedError'
              ? new DataFolderLockedError(message.path ?? '')
              : Object.assign(new Error(message.message), { name: message.name });
          reject(error);
          break;
        }
        case 'closed':
          void worker.terminate();
          break;
        case 'ready':
          ready = true;
          resolve({
            endpoint: message.endpoint,
            direct(request: DirectRequest) {
              return new Promise<DirectResponse>((resolveAnswer, rejectAnswer) => {
                if (gone || closed) return rejectAnswer(gone ?? new Error('the DynamoDB thread is closed'));
                const id = nextId++;
                waiting.set(id, { resolve: resolveAnswer, reject: rejectAnswer });
                worker.postMessage({ type: 'request', id, request });
              });
            },
            close() {
              closed ??= new Promise<void>((done) => {
                whenClosed = done;
                worker.postMessage('close');
              });
              return closed;
            },
          });
      }
    });
  });
}

type ThreadMessage =
  | { type: 'ready'; endpoint: string }
  | { type: 'failed'; name: string; message: string; path?: string }
  | { type: 'damage'; damage: Parameters<NonNullable<StartDynaliteOptions['onDamage']>>[0] }
  | { type: 'closed' }
  | { type: 'answer'; id: number; response?: DirectResponse; error?: string };
