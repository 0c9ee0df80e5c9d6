// Entry point of `node --import @nis2/otel/register app.mjs`. ESM modules are instrumented through
// import-in-the-middle's loader hook, registered here with a message channel so modules imported
// after this file (including the app's frameworks) get their spans, as OpenTelemetry documents.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

const { isMainThread } = await import('node:worker_threads');
if (isMainThread) {
  const { startFromHook } = await import('./dist/esm/start.js');
  startFromHook();
}
await waitForAllMessagesAcknowledged();
