// Entry point of `node --require @nis2/otel/register` (and, through register.mjs, of `--import`).
import { startFromHook } from './start.js';

startFromHook();
