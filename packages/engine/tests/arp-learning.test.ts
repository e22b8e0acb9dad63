// Issue 13 item 13: ARP on TAP learns as Linux's arp_process does (no entries from
// unsolicited ARP, a 1 s locktime, eviction of the least recently confirmed in O(1)).
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, parseMac, formatMac, rd16 } from '@tunvs/packet';
import { Director } from '../src/index.js';
import { NEIGH_LOCKTIME_MS, NEIGH_PROBE_INTERVAL_MS, NEIGH_REACHABLE_MS } from '../src/neighbours.js';

const OUR_MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:02';
const RS_MAC = '02:00:00:00:00:11';
const RS_NEW_MAC = '02:00:00:00:00:12';
const ATTACKER_MAC = '02:00:00:00:00:66';
const VIP = '10.10.0.100';
const RS = '10.10.0.11';
const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };

function drDirector(prefix = 24): { d: Director; link: MemoryLink; clock: { now: number } } {
  const link = new MemoryLink('tap', 1500);
  const clock = { now: 5_000_000 };
  const d = new Director({ links: [link], mac: parseMac(OUR_MAC), addresses: [{ addr: '10.10.0.1', prefix }], now: () => clock.now, timers: false });
  d.start();
  d.addService(key);
  d.addDest(key, { addr: RS, port: 80, method: 'route' });
  link.drain();
  return { d, link, clock };
}

const ethDst = (f: Uint8Array): string => formatMac(f.subarray(0, 6));
const isArp = (f: Uint8Array): boolean => rd16(f, 12) === 0x0806;

function arp(op: 1 | 2, senderMac: string, senderIp: string, targetIp: string, targetMac = '00:00:00:00:00:00', ethDstMac = 'ff:ff:ff:ff:ff:ff'): Uint8Array {
  return packet().eth({ src: senderMac, dst: ethDstMac }).arp({ op, senderMac, senderIp, targetIp, targetMac }).build();
}

let sport = 40000;
/** A client SYN to the VIP; returns what the director sent for it. */
function syn(link: MemoryLink): Uint8Array[] {
  link.receive(packet().eth({ src: CLIENT_MAC, dst: OUR_MAC }).ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: sport++, dport: 80, flags: 'S' }).build());
  return link.drain();
}

/** Resolve the real server the honest way: a SYN, our request, its reply. */
function resolveRs(link: MemoryLink, mac = RS_MAC): Uint8Array[] {
  const [req] = syn(link);
  if (!req || !isArp(req)) throw new Error('expected an ARP request');
  link.receive(arp(2, mac, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  return link.drain();
}

t.test('a gratuitous or unsolicited ARP from an attacker does not redirect DR traffic', (t) => {
  const { d, link } = drDirector();
  // the attacker claims the real server's address before the director knows it
  link.receive(arp(1, ATTACKER_MAC, RS, RS)); // gratuitous request
  link.receive(arp(2, ATTACKER_MAC, RS, RS, ATTACKER_MAC)); // gratuitous reply
  link.receive(arp(2, ATTACKER_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC)); // unsolicited reply to us
  link.receive(arp(1, ATTACKER_MAC, RS, '10.10.0.77')); // a request for someone else
  t.equal(d.neighbours!.lookup(0x0a0a000b), -1, 'no entry was created');
  const first = syn(link);
  t.equal(first.length, 1);
  t.ok(isArp(first[0]!), 'the director asks for the real server itself');
  link.receive(arp(2, RS_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  const [out] = link.drain();
  t.equal(ethDst(out!), RS_MAC, 'the SYN goes to the real server');
  t.equal(ethDst(syn(link)[0]!), RS_MAC, 'and so does the next one');
  t.end();
});

t.test('an address change inside the locktime is ignored, after it taken', (t) => {
  const { d, link, clock } = drDirector();
  const [queued] = resolveRs(link);
  t.equal(ethDst(queued!), RS_MAC);
  // a second answer half a locktime later (not gratuitous): the first one wins
  clock.now += NEIGH_LOCKTIME_MS / 2;
  link.receive(arp(2, ATTACKER_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  t.equal(d.neighbours!.counters.locked, 1, 'counted as locked');
  t.equal(ethDst(syn(link)[0]!), RS_MAC, 'traffic stays with the first answer');
  // the same MAC inside the locktime only confirms
  link.receive(arp(2, RS_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  t.equal(d.neighbours!.counters.changed, 0);
  // the real server moves to another NIC after the locktime: taken
  clock.now += NEIGH_LOCKTIME_MS;
  link.receive(arp(2, RS_NEW_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  t.equal(d.neighbours!.counters.changed, 1);
  t.equal(ethDst(syn(link)[0]!), RS_NEW_MAC, 'after the locktime the new address is used');
  // a request addressed to us overrides at once (Linux's neigh_event_ns)
  link.receive(arp(1, RS_MAC, RS, '10.10.0.1'));
  t.equal(link.drain().length, 1, 'answered');
  t.equal(ethDst(syn(link)[0]!), RS_MAC, 'a request to us updates its sender at once');
  t.end();
});

/** Run `fn`, counting the elements every Map and Set iteration hands out meanwhile. */
function countIteration(fn: () => void): number {
  let steps = 0;
  const restore: (() => void)[] = [];
  for (const proto of [Map.prototype, Set.prototype] as unknown as Record<PropertyKey, unknown>[]) {
    for (const k of ['values', 'keys', 'entries', Symbol.iterator] as PropertyKey[]) {
      const orig = proto[k] as (this: unknown) => Iterator<unknown>;
      proto[k] = function (this: unknown): IterableIterator<unknown> {
        const it = orig.call(this);
        const wrapped: IterableIterator<unknown> = {
          next: () => {
            steps++;
            return it.next();
          },
          [Symbol.iterator]: () => wrapped,
        };
        return wrapped;
      };
      restore.push(() => {
        proto[k] = orig;
      });
    }
    const forEach = proto.forEach as (this: unknown, cb: (...a: unknown[]) => void) => void;
    proto.forEach = function (this: unknown, cb: (...a: unknown[]) => void): void {
      forEach.call(this, (...a: unknown[]) => {
        steps++;
        cb(...a);
      });
    };
    restore.push(() => {
      proto.forEach = forEach;
    });
  }
  try {
    fn();
  } finally {
    for (const r of restore) r();
  }
  return steps;
}

t.test('a random-sender ARP flood costs O(1) per frame; eviction takes the least recently confirmed', (t) => {
  const { d, link } = drDirector(16);
  resolveRs(link);
  const nb = d.neighbours!;
  const cap = nb.capacity;
  // distinct senders all over the /16 (outside 10.10.0.0/24), each asking for our address:
  // each creates an entry
  let i0 = 0;
  const sender = (): string => {
    const h = 256 + ((i0++ * 7919) % 65000);
    return `10.10.${h >>> 8}.${h & 0xff}`;
  };
  const frames: Uint8Array[] = [];
  for (let i = 0; i < cap + 10_000; i++) frames.push(arp(1, ATTACKER_MAC, sender(), '10.10.0.1'));
  let sent = 0;
  const steps = countIteration(() => {
    for (let i = 0; i < frames.length; i++) {
      link.receive(frames[i]!);
      // the real server keeps talking to us: it is never the least recently confirmed
      if (i % 1000 === 0) link.receive(arp(2, RS_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
      sent += link.drain().length;
    }
  });
  t.ok(sent >= frames.length, 'every request answered');
  t.equal(nb.size, cap, 'the cache stays at its capacity');
  t.ok(nb.counters.evicted >= 10_000, `evicted ${nb.counters.evicted}`);
  t.ok(steps <= frames.length, `collection elements visited: ${steps} for ${frames.length} frames (a scan visits ${cap} each)`);
  t.ok(nb.lookup(0x0a0a000b) >= 0, 'the real server, confirmed lately, was not evicted');
  t.equal(ethDst(syn(link)[0]!), RS_MAC);
  t.end();
});

t.test('a neighbour in use past its reachable time is asked again by the tick, a request a second while traffic goes to it', (t) => {
  const { d, link, clock } = drDirector();
  resolveRs(link);
  const sent = (): number => d.neighbours!.counters.requestsSent;
  const requests = (frames: Uint8Array[]): Uint8Array[] => frames.filter(isArp);
  // used within its reachable time: nothing to ask
  clock.now += NEIGH_REACHABLE_MS / 2;
  t.equal(ethDst(syn(link)[0]!), RS_MAC);
  d.tick(clock.now);
  t.same(requests(link.drain()), [], 'no request while the entry is fresh');
  // used past it: the packet goes to the known MAC, and only the tick asks
  clock.now += NEIGH_REACHABLE_MS;
  const out = syn(link);
  t.equal(out.length, 1, 'the packet path sends the SYN alone');
  t.equal(ethDst(out[0]!), RS_MAC, 'to the MAC it knows');
  const before = sent();
  d.tick(clock.now);
  const [req, ...more] = requests(link.drain());
  t.ok(req, 'the tick sends a request');
  t.equal(more.length, 0, 'one');
  t.equal(ethDst(req!), 'ff:ff:ff:ff:ff:ff');
  t.equal(rd16(req!, 20), 1, 'an ARP request');
  t.same([...req!.subarray(38, 42)], [10, 10, 0, 11], 'for the real server');
  t.equal(sent(), before + 1, 'counted');
  // not again within the probe interval, even in use
  clock.now += NEIGH_PROBE_INTERVAL_MS / 2;
  syn(link);
  d.tick(clock.now);
  t.same(requests(link.drain()), [], 'at most one a second');
  // still in use a second later: asked again
  clock.now += NEIGH_PROBE_INTERVAL_MS;
  syn(link);
  d.tick(clock.now);
  t.equal(requests(link.drain()).length, 1, 'asked again while in use');
  // traffic stops: no more requests
  clock.now += 3 * NEIGH_PROBE_INTERVAL_MS;
  d.tick(clock.now);
  t.same(requests(link.drain()), [], 'none once the traffic stopped');
  // the answer confirms it: in use, nothing to ask for another reachable time
  link.receive(arp(2, RS_MAC, RS, '10.10.0.1', OUR_MAC, OUR_MAC));
  clock.now += NEIGH_PROBE_INTERVAL_MS;
  t.equal(ethDst(syn(link)[0]!), RS_MAC);
  d.tick(clock.now);
  t.same(requests(link.drain()), [], 'confirmed: nothing to ask');
  t.end();
});
