// Shared test fixtures: instance specs, a recording RouterIo, a fake network joining
// several routers (adverts delivered instantly, optional partitions), all on a fake clock.
import { parseIpv4, formatIpv4 } from '@tunvs/packet';
import { VrrpRouter, buildAdvert, stateName } from '../src/index.js';
import type { Instance, InstanceSpec, NotifyEvent, RouterIo, TransitionEvent, GroupSpec } from '../src/index.js';

export const S = 1_000_000;

export function spec(over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name: 'VI_1',
    vrid: 51,
    version: 2,
    priority: 100,
    adverIntUs: 1 * S,
    wantMaster: false,
    nopreempt: false,
    preemptDelayUs: 0,
    downTimerAdverts: 3,
    authType: 0,
    authData: new Uint8Array(8),
    vips: [parseIpv4('10.99.0.100')],
    unicastPeers: [],
    checkUnicastSrc: false,
    v3ChecksumAsV2: false,
    skipCheckAdvAddr: false,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    notifyPriorityChanges: false,
    garp: { masterDelayUs: 5 * S, masterRepeat: 5, masterRefreshUs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayUs: 0 },
    ...over,
  };
}

/** Records every effect as a short string; `sent` keeps the advert datagrams. */
export class RecIo implements RouterIo {
  readonly ev: string[] = [];
  readonly sent: { inst: string; prio: number; datagrams: Uint8Array[] }[] = [];
  readonly transitions: TransitionEvent[] = [];
  readonly notifies: NotifyEvent[] = [];
  constructor(
    readonly src: number,
    private readonly onSend?: (d: Uint8Array[], inst: Instance) => void,
  ) {}
  sendAdvert(inst: Instance, priority: number): void {
    const ds = buildAdvert(inst.spec, priority, this.src, inst.nextIpId()).map((x) => x.datagram);
    this.sent.push({ inst: inst.name, prio: priority, datagrams: ds });
    this.ev.push(`advert ${inst.name} ${priority}`);
    this.onSend?.(ds, inst);
  }
  setAddresses(inst: Instance, up: boolean): void {
    this.ev.push(`vips ${inst.name} ${up ? 'up' : 'down'}`);
  }
  garp(inst: Instance, repeat: number): void {
    this.ev.push(`garp ${inst.name} x${repeat}`);
  }
  notify(ev: NotifyEvent): void {
    this.notifies.push(ev);
    this.ev.push(`notify ${ev.kind} ${ev.name} ${ev.state} ${ev.priority}`);
  }
  transition(ev: TransitionEvent): void {
    this.transitions.push(ev);
    this.ev.push(`state ${ev.instance} ${ev.from}->${ev.to}`);
  }
  log(): void {}
  take(): string[] {
    return this.ev.splice(0);
  }
}

/** A router with a recording io, source address `src`. */
export function router(specs: InstanceSpec[], src = '10.99.0.1', groups: GroupSpec[] = [], onSend?: (d: Uint8Array[], inst: Instance) => void): { r: VrrpRouter; io: RecIo } {
  const io = new RecIo(parseIpv4(src), onSend);
  const r = new VrrpRouter(specs, groups, io);
  for (const i of r.instances.values()) i.srcAddr = parseIpv4(src);
  return { r, io };
}

/** An advert from a peer as a datagram. */
export function advertFrom(src: string, over: Partial<InstanceSpec> = {}, priority?: number): Uint8Array {
  const s = spec(over);
  return buildAdvert(s, priority ?? s.priority, parseIpv4(src), 1)[0]!.datagram;
}

/** Several routers on one segment; adverts arrive at once unless the pair is cut. */
export class Net {
  readonly nodes: { name: string; r: VrrpRouter; io: RecIo }[] = [];
  now = 0;
  private cut = new Set<string>();
  private queue: { to: number; d: Uint8Array }[] = [];

  add(name: string, specs: InstanceSpec[], src: string): void {
    const idx = this.nodes.length;
    const { r, io } = router(specs, src, [], (ds) => {
      for (let j = 0; j < this.nodes.length; j++) {
        if (j === idx) continue;
        const key = [this.nodes[idx]!.name, this.nodes[j]!.name].sort().join('|');
        if (this.cut.has(key)) continue;
        for (const d of ds) this.queue.push({ to: j, d });
      }
    });
    this.nodes.push({ name, r, io });
  }
  partition(a: string, b: string, on: boolean): void {
    const key = [a, b].sort().join('|');
    if (on) this.cut.add(key);
    else this.cut.delete(key);
  }
  private deliver(): void {
    while (this.queue.length) {
      const q = this.queue.shift()!;
      this.nodes[q.to]!.r.receive(q.d, 0, q.d.length, this.now);
    }
  }
  start(): void {
    for (const n of this.nodes) n.r.start(this.now);
    this.deliver();
  }
  /** Run until `until` (µs), processing every deadline in order. */
  run(until: number): void {
    for (;;) {
      let next = Infinity;
      for (const n of this.nodes) next = Math.min(next, n.r.nextDeadline());
      if (next > until) break;
      this.now = Math.max(this.now, next);
      for (const n of this.nodes) n.r.tick(this.now);
      this.deliver();
    }
    this.now = until;
  }
  states(inst = 'VI_1'): Record<string, string> {
    const o: Record<string, string> = {};
    for (const n of this.nodes) o[n.name] = stateName(n.r.get(inst).state);
    return o;
  }
}

export { parseIpv4, formatIpv4 };
