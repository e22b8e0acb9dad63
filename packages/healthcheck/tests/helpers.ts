// Test helpers: a recording DirectorControl double and small server utilities.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestSpec, DirectorControl, ServiceKey, ServiceSpec } from '@tunvs/model';
import type { HealthEvent, HealthManager } from '../src/index.js';

export interface Call {
  op: string;
  key?: ServiceKey;
  dest?: Partial<DestSpec>;
}

const k = (key: ServiceKey): string => (key.fwmark ? `fwm${key.fwmark}` : `${key.protocol}:${key.addr}:${key.port}`);

/** Records every call and keeps a table of destinations per service. */
export class FakeDirector {
  calls: Call[] = [];
  services = new Map<string, ServiceSpec>();
  dests = new Map<string, Map<string, DestSpec>>();
  control(): DirectorControl {
    const { calls, services, dests } = this;
    const self = { calls, services, dests };
    const fail = (): never => {
      throw new Error('not used');
    };
    return {
      addService(spec) {
        self.calls.push({ op: 'addService', key: spec });
        self.services.set(k(spec), spec);
        self.dests.set(k(spec), new Map());
      },
      editService(spec) {
        self.calls.push({ op: 'editService', key: spec });
      },
      deleteService: fail,
      clear: fail,
      addDest(key, d) {
        self.calls.push({ op: 'addDest', key, dest: d });
        const m = self.dests.get(k(key))!;
        const id = `${d.addr}:${d.port}`;
        if (m.has(id)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        m.set(id, { ...d });
      },
      editDest(key, d) {
        self.calls.push({ op: 'editDest', key, dest: d });
        const m = self.dests.get(k(key))!;
        const id = `${d.addr}:${d.port}`;
        if (!m.has(id)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
        m.set(id, { ...d });
      },
      deleteDest(key, d) {
        self.calls.push({ op: 'deleteDest', key, dest: d });
        const m = self.dests.get(k(key))!;
        if (!m.delete(`${d.addr}:${d.port}`)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      },
      zero: fail,
      listServices: fail,
      getService: fail,
      listConnections: fail,
      setTimeouts: fail,
      getTimeouts: fail,
      info: fail,
    };
  }
  /** `addr:port=weight` of one service, sorted */
  table(key: string): string[] {
    return [...(this.dests.get(key)?.values() ?? [])].map((d) => `${d.addr}:${d.port}=${d.weight}`).sort();
  }
}

/** Resolves on the first `change` event matching `pred` (rejects after ms). */
export function waitEvent(hm: HealthManager, pred: (e: HealthEvent) => boolean, ms = 5000): Promise<HealthEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      hm.off('change', on);
      reject(new Error('timed out waiting for event'));
    }, ms);
    const on = (e: HealthEvent): void => {
      if (!pred(e)) return;
      clearTimeout(t);
      hm.off('change', on);
      resolve(e);
    };
    hm.on('change', on);
  });
}

/** An HTTP server on 127.0.0.1 that answers `body`; port 0 = random. */
export async function httpServer(body: string, port = 0): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

/** Closes a server and every open connection. */
export function closeServer(s: { close(cb: () => void): void; closeAllConnections?: () => void }): Promise<void> {
  return new Promise((r) => {
    s.close(() => r());
    s.closeAllConnections?.();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
