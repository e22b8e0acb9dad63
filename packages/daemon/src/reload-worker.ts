/**
 * The worker thread that reads and checks configurations for tunvsd (loader.ts), so that
 * the daemon's own thread, which forwards packets and serves the control socket, never
 * parses. It answers each `{ id, path }` with `{ id, checked }` (checkConfig's outcome).
 */
import { parentPort } from 'node:worker_threads';
import { checkConfig } from './sources.js';

parentPort!.on('message', (m: { id: number; path: string }) => {
  parentPort!.postMessage({ id: m.id, checked: checkConfig(m.path) });
});
// loaded: the time limit of a read counts from here, not from the thread's start
parentPort!.postMessage({ ready: true });
