/**
 * The metrics worker thread: receives snapshots (their arrays transferred, not copied),
 * renders them with prom-client, and sends back the text as bytes together with the
 * arrays, so the packet thread only ever copies counters.
 */
import { parentPort } from 'node:worker_threads';
import { Exposition } from './exposition.js';
import type { Snapshot } from './snapshot.js';

/** A request to the worker. */
export interface RenderRequest {
  id: number;
  snap: Snapshot;
}

/** The worker's answer. */
export type RenderResponse =
  | { id: number; ok: true; body: Uint8Array; svc: Float64Array; dest: Float64Array; renderSeconds: number }
  | { id: number; ok: false; error: string; svc: Float64Array; dest: Float64Array };

const port = parentPort;
if (port) {
  const exposition = new Exposition();
  const encoder = new TextEncoder();
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: RenderRequest) => {
    chain = chain.then(async () => {
      const t0 = process.hrtime.bigint();
      const { svc, dest } = req.snap;
      try {
        const text = await exposition.render(req.snap);
        const body = encoder.encode(text);
        const renderSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const msg: RenderResponse = { id: req.id, ok: true, body, svc, dest, renderSeconds };
        port.postMessage(msg, [body.buffer as ArrayBuffer, svc.buffer as ArrayBuffer, dest.buffer as ArrayBuffer]);
      } catch (e) {
        const msg: RenderResponse = { id: req.id, ok: false, error: (e as Error).message, svc, dest };
        port.postMessage(msg, [svc.buffer as ArrayBuffer, dest.buffer as ArrayBuffer]);
      }
    });
  });
}
