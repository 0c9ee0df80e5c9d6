// Entry point of `node --require @nis2/otel/register` (and, through register.mjs, of `--import`).
import { isMainThread } from 'node:worker_threads';
import { startFromHook } from './start.js';

// A preload (`NODE_OPTIONS=--require …`) also runs in every worker thread; the guard and its
// event stream belong to the main thread, which owns the servers.
if (isMainThread) startFromHook();
