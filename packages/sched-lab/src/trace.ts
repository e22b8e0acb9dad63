/**
 * `bench --trace FILE`: the arrivals of a replay trace (packages/replay's format, e.g.
 * the output of trace-from-pcap) drive the scenario's simulated servers. Each `connect`
 * becomes a connection from that client address and port at that time; a `close` or
 * `expire` of it in the trace keeps the connection open at least until then (the client's
 * real connection lifetime); `advance` moves time. The scenario still decides the servers,
 * their service times, the requests per connection and the schedulers to compare; the
 * trace's `service`, `add`, `edit` and `del` lines are counted and reported as not used,
 * and its `packet` lines are not needed (the simulation moves the states).
 */
import { readFileSync } from 'node:fs';
import { parseEndpoint } from '@tunvs/packet';
import type { ArrivalSource } from './workload.js';
import { PORT_HIGH, PORT_LOW } from './workload.js';

/** A trace line that cannot be used. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
}

/** A trace read for the simulator. */
export interface TraceWorkload {
  file: string;
  connects: number;
  /** time of the last line, seconds */
  span: number;
  /** distinct client addresses */
  clients: number;
  /** lines of the trace the simulation does not use, by op */
  unused: Record<string, number>;
  /** a fresh arrival source over the trace (one per scheduler run) */
  arrivals(): ArrivalSource;
}

/** Read a replay trace for `bench --trace`. Throws TraceError naming file:line. */
export function loadTrace(file: string, text = readFileSync(file === '-' ? 0 : file, 'utf8')): TraceWorkload {
  const times: number[] = [];
  const addrs: number[] = [];
  const ports: number[] = [];
  const closeAt: number[] = [];
  const unused: Record<string, number> = {};
  let t = 0;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new TraceError(`${where}: bad JSON: ${(e as Error).message}`);
    }
    switch (o['op']) {
      case 'advance': {
        const s = o['seconds'];
        if (typeof s !== 'number' || !(s >= 0)) throw new TraceError(`${where}: field 'seconds' must be a non-negative number`);
        t += s;
        return;
      }
      case 'connect': {
        const c = o['client'];
        if (typeof c !== 'string') throw new TraceError(`${where}: missing field 'client'`);
        let ep;
        try {
          ep = parseEndpoint(c);
        } catch (e) {
          throw new TraceError(`${where}: field 'client': ${(e as Error).message}`);
        }
        times.push(t * 1000);
        addrs.push(ep.addr);
        ports.push(ep.port);
        closeAt.push(-1);
        return;
      }
      case 'close':
      case 'expire': {
        const n = o['n'];
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new TraceError(`${where}: field 'n' must be a non-negative integer`);
        if (n >= times.length) throw new TraceError(`${where}: no connect number ${n} yet (${times.length} so far)`);
        if (closeAt[n] === -1) closeAt[n] = t * 1000;
        return;
      }
      case 'service':
      case 'add':
      case 'edit':
      case 'del':
      case 'packet': {
        const op = o['op'] as string;
        unused[op] = (unused[op] ?? 0) + 1;
        return;
      }
      default:
        throw new TraceError(`${where}: unknown op ${JSON.stringify(o['op'])}`);
    }
  });
  // client indexes by address, in order of first appearance
  const index = new Map<number, number>();
  const client = addrs.map((a) => {
    let k = index.get(a);
    if (k === undefined) index.set(a, (k = index.size));
    return k;
  });
  const n = times.length;
  return {
    file,
    connects: n,
    span: t,
    clients: index.size,
    unused,
    arrivals(): ArrivalSource {
      let i = -1;
      const src: ArrivalSource = {
        clientCount: Math.max(1, index.size),
        time: 0,
        client: 0,
        addr: 0,
        port: 0,
        connSeed: 0,
        closeAt: -1,
        next(): boolean {
          if (++i >= n) return false;
          src.time = times[i]!;
          src.client = client[i]!;
          src.addr = addrs[i]!;
          src.port = ports[i]!;
          src.closeAt = closeAt[i]!;
          // the connection's own random numbers: a fixed function of its position
          src.connSeed = (Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
          return true;
        },
        nextPort(): number {
          src.port = src.port >= PORT_HIGH ? PORT_LOW : src.port + 1;
          return src.port;
        },
      };
      return src;
    },
  };
}
