// The worker side of startDynaliteThread (dynalite-thread.ts): tsx for this thread too, then the
// same startDynalite as in-process, with damage reports and close() going through messages.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { startDynalite } = await import('./dynalite.ts');
try {
  const dynamo = await startDynalite({
    ...workerData,
    onDamage: (damage) => parentPort.postMessage({ type: 'damage', damage }),
  });
  parentPort.on('message', async (message) => {
    if (message?.type === 'request') {
      // The direct line (functions/store/direct.ts): one request from the main thread, answered by id.
      try {
        const response = await dynamo.direct(message.request);
        parentPort.postMessage({ type: 'answer', id: message.id, response });
      } catch (error) {
        parentPort.postMessage({ type: 'answer', id: message.id, error: error.message });
      }
      return;
    }
    if (message !== 'close') return;
    await dynamo.close();
    parentPort.postMessage({ type: 'closed' });
  });
  parentPort.postMessage({ type: 'ready', endpoint: dynamo.endpoint });
} catch (error) {
  parentPort.postMessage({ type: 'failed', name: error.name, message: error.message, path: error.path });
}
