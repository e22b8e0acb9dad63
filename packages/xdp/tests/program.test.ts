// The steering program, run in a small eBPF interpreter (tests/bpf-vm.ts) on frames built
// with @tunvs/packet: which frames are the director's, and that both directions of a flow
// reach the same socket (the hash symmetry the multi-worker Director relies on).
import t from 'tap';
import fc from 'fast-check';
import { packet, parseIpv4, quoteOf } from '@tunvs/packet';
import { steeringProgram, XdpAction, FILTER_KEEP, FRAG_KEY_LEN } from '../src/bpf/program.js';
import { AddrFlag, EndpointFlag, Stat, addrKey, clientPrefix, endpointKey, slotOf, socketIndex, u32Value, PROTO, VRRP_PROTO } from '../src/steer.js';
import { hex, runSkb, runXdp, u32le, vmMap } from './bpf-vm.js';
import type { VmMap } from './bpf-vm.js';

const FD = { xsks: 101, vips: 102, reals: 103, addrs: 104, stats: 105, frags: 106 };
const VIP = '10.0.2.100';
const RS = '10.0.1.11';
const HOST = '10.0.1.1';
const ARP_ADDR = '10.0.2.100';

interface World {
  prog: Uint8Array;
  maps: Map<number, VmMap>;
  slots: number;
}

function world(slots: number, queues = 1, opts: { addrOnly?: boolean; prefix?: number; missing?: number[] } = {}): World {
  const maps = new Map<number, VmMap>();
  const xsks = vmMap('xsk', 4, 4, queues * slots);
  for (let i = 0; i < queues * slots; i++) if (!opts.missing?.includes(i)) xsks.entries.set(hex(u32le(i)), u32le(100 + i));
  const vips = vmMap('hash', 8, 4, 64);
  const reals = vmMap('hash', 8, 4, 64);
  const addrs = vmMap('hash', 4, 4, 64);
  const stats = vmMap('array', 4, 8, Stat.SocketBase + queues * slots);
  const flags = u32Value(opts.addrOnly ? EndpointFlag.AddrOnly | (32 - (opts.prefix ?? 32)) : 0);
  for (const proto of [PROTO.tcp, PROTO.udp]) {
    vips.entries.set(hex(endpointKey(parseIpv4(VIP), 80, proto)), flags);
    reals.entries.set(hex(endpointKey(parseIpv4(RS), 80, proto)), flags);
  }
  // a whole-address service: every UDP port of VIP 10.0.2.200
  vips.entries.set(hex(endpointKey(parseIpv4('10.0.2.200'), 0, PROTO.udp)), u32Value(0));
  vips.entries.set(hex(endpointKey(parseIpv4(VIP), 0, PROTO.icmp)), u32Value(0));
  addrs.entries.set(hex(addrKey(parseIpv4(VIP))), u32Value(AddrFlag.Vip | AddrFlag.Arp));
  addrs.entries.set(hex(addrKey(parseIpv4('10.0.2.200'))), u32Value(AddrFlag.Vip));
  addrs.entries.set(hex(addrKey(parseIpv4(RS))), u32Value(AddrFlag.Real));
  addrs.entries.set(hex(addrKey(parseIpv4(HOST))), u32Value(AddrFlag.Host));
  maps.set(FD.xsks, xsks);
  maps.set(FD.vips, vips);
  maps.set(FD.reals, reals);
  maps.set(FD.addrs, addrs);
  maps.set(FD.stats, stats);
  maps.set(FD.frags, vmMap('lru', FRAG_KEY_LEN, 4, 8));
  return { prog: steeringProgram(slots, FD).assemble(), maps, slots };
}

// client n (below 2^16) in 10.100.0.0/16: never one of the world's own addresses, all in
// 10.0/16 (10.0.x.y clients drew n = 257, 10.0.1.1, HOST, whose frames go to the kernel: a
// property run failed on it)
const ip = (n: number): string => `10.100.${(n >>> 8) & 255}.${n & 255}`;

function run(w: World, frame: Uint8Array, queue = 0): { action: number; key: number | null } {
  const r = runXdp(w.prog, w.maps, frame, queue);
  return { action: r.action, key: r.action === XdpAction.Redirect ? r.redirectKey : null };
}

function stat(w: World, i: number): number {
  const v = w.maps.get(FD.stats)!.entries.get(hex(u32le(i)))!;
  return Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
}

const toVip = (client: string, cport: number, proto: 'tcp' | 'udp' = 'tcp'): Uint8Array => {
  const p = packet().eth().ipv4({ src: client, dst: VIP });
  return (proto === 'tcp' ? p.tcp({ sport: cport, dport: 80, flags: 'S' }) : p.udp({ sport: cport, dport: 80 })).build();
};
const fromRs = (client: string, cport: number, proto: 'tcp' | 'udp' = 'tcp'): Uint8Array => {
  const p = packet().eth().ipv4({ src: RS, dst: client });
  return (proto === 'tcp' ? p.tcp({ sport: 80, dport: cport, flags: 'SA' }) : p.udp({ sport: 80, dport: cport })).build();
};

t.test('both directions of a NAT flow reach the same socket, the one slotOf predicts', async (t) => {
  for (const slots of [1, 2, 3, 4, 7]) {
    const w = world(slots, 2);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 1, max: 65535 }), fc.constantFrom('tcp', 'udp'), fc.integer({ min: 0, max: 1 }), (c, port, proto, queue) => {
        const client = ip(c);
        const a = run(w, toVip(client, port, proto as 'tcp'), queue);
        const b = run(w, fromRs(client, port, proto as 'tcp'), queue);
        const want = socketIndex(queue, slotOf(parseIpv4(client), port, slots), slots);
        return a.action === XdpAction.Redirect && b.action === XdpAction.Redirect && a.key === want && b.key === want;
      }),
      { numRuns: 150 },
    );
  }
  t.pass('every sampled flow agreed in both directions');
});

t.test('flows spread over the slots', async (t) => {
  const w = world(4);
  const seen = [0, 0, 0, 0];
  for (let i = 0; i < 400; i++) seen[run(w, toVip(ip(1000 + i), 40000 + i)).key!]++;
  for (const n of seen) t.ok(n > 60, `each slot gets a share (${seen.join(' ')})`);
  t.equal(stat(w, Stat.Ip), 400, 'counted as IP redirects');
  t.equal(stat(w, Stat.SocketBase) + stat(w, Stat.SocketBase + 1) + stat(w, Stat.SocketBase + 2) + stat(w, Stat.SocketBase + 3), 400, 'and per socket');
});

t.test('addrOnly entries ignore the client port (one client, one slot)', async (t) => {
  const w = world(8, 1, { addrOnly: true });
  const keys = new Set<number | null>();
  for (let port = 1000; port < 1100; port++) {
    keys.add(run(w, toVip('10.9.9.9', port)).key);
    keys.add(run(w, fromRs('10.9.9.9', port)).key);
  }
  t.same([...keys], [slotOf(parseIpv4('10.9.9.9'), 0, 8)], 'every port of the client lands on its address slot');
});

t.test('addrOnly entries with a prefix: the clients of one persistence netmask share a slot (clientPrefix)', async (t) => {
  for (const prefix of [0, 8, 24, 31]) {
    const w = world(7, 1, { addrOnly: true, prefix });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 1, max: 65535 }), (c, port) => {
        const client = ip(c);
        const want = slotOf(clientPrefix(parseIpv4(client), prefix), 0, 7);
        return run(w, toVip(client, port)).key === want && run(w, fromRs(client, port)).key === want;
      }),
      { numRuns: 100 },
    );
  }
  const w = world(7, 1, { addrOnly: true, prefix: 24 });
  t.equal(run(w, toVip('10.3.3.1', 1000)).key, run(w, toVip('10.3.3.254', 2000)).key, 'two clients of one /24');
  t.equal(clientPrefix(parseIpv4('10.3.3.77'), 24), parseIpv4('10.3.3.0'));
  t.equal(clientPrefix(parseIpv4('10.3.3.77'), 0), 0);
  t.equal(clientPrefix(parseIpv4('10.3.3.77'), 32), parseIpv4('10.3.3.77'));
});

t.test('what is not the director’s passes to the kernel', async (t) => {
  const w = world(2);
  const cases: [string, Uint8Array][] = [
    ['another destination', packet().eth().ipv4({ src: '10.0.0.5', dst: '10.0.3.3' }).tcp({ sport: 1, dport: 80 }).build()],
    ['the VIP on a port without a service', packet().eth().ipv4({ src: '10.0.0.5', dst: VIP }).tcp({ sport: 1, dport: 22 }).build()],
    ['the real server from another port', packet().eth().ipv4({ src: RS, dst: '10.0.0.5' }).tcp({ sport: 443, dport: 1 }).build()],
    ['a health-check reply to the host address', packet().eth().ipv4({ src: RS, dst: HOST }).tcp({ sport: 80, dport: 5555, flags: 'SA' }).build()],
    ['IPv6', packet().eth({ etherType: 0x86dd }).payload(60).build()],
    ['ARP for another address', packet().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderIp: '10.0.0.5', targetIp: '10.0.0.6' }).build()],
  ];
  for (const [name, frame] of cases) t.equal(run(w, frame).action, XdpAction.Pass, name);
  t.equal(stat(w, Stat.Pass), cases.length, 'counted as passed');
});

t.test('a service on every port, and ICMP echo to a VIP', async (t) => {
  const w = world(3);
  const udp = packet().eth().ipv4({ src: '10.5.0.1', dst: '10.0.2.200' }).udp({ sport: 999, dport: 5353 }).build();
  t.equal(run(w, udp).key, slotOf(parseIpv4('10.5.0.1'), 999, 3), 'port 0 entry matches any port');
  const tcp = packet().eth().ipv4({ src: '10.5.0.1', dst: '10.0.2.200' }).tcp({ sport: 999, dport: 5353 }).build();
  t.equal(run(w, tcp).action, XdpAction.Pass, 'only for its protocol');
  const echo = packet().eth().ipv4({ src: '10.5.0.1', dst: VIP }).icmp({ type: 8, id: 7, seq: 1 }).payload(8).build();
  t.equal(run(w, echo).key, slotOf(parseIpv4('10.5.0.1'), 0, 3), 'ICMP echo by the client address');
});

t.test('ICMP errors quoting a flow go where the flow goes', async (t) => {
  const w = world(4);
  const client = '10.7.1.9';
  const cport = 51000;
  const want = run(w, toVip(client, cport)).key;
  // a router tells the VIP that its reply to the client could not be delivered
  const reply = packet().ipv4({ src: VIP, dst: client }).tcp({ sport: 80, dport: cport, flags: 'SA' }).build();
  const e1 = packet().eth().ipv4({ src: '10.0.0.254', dst: VIP }).icmp({ type: 3, code: 4, mtu: 1400 }).payload(quoteOf(reply)).build();
  t.equal(run(w, e1).key, want, 'quote of a reply to the client (Fragmentation needed)');
  // the real server says port unreachable for the packet forwarded to it (NAT: to the client)
  const fwd = packet().ipv4({ src: client, dst: RS }).udp({ sport: cport, dport: 80 }).build();
  const e2 = packet().eth().ipv4({ src: RS, dst: client }).icmp({ type: 3, code: 3 }).payload(quoteOf(fwd)).build();
  t.equal(run(w, e2).key, socketIndex(0, slotOf(parseIpv4(client), cport, 4), 4), 'quote of a packet sent to the server');
  t.equal(stat(w, Stat.IcmpError), 2, 'counted as ICMP errors');
  const other = packet().ipv4({ src: '10.1.1.1', dst: '10.2.2.2' }).udp({ sport: 1, dport: 2 }).build();
  const e3 = packet().eth().ipv4({ src: '10.0.0.254', dst: '10.1.1.1' }).icmp({ type: 11 }).payload(quoteOf(other)).build();
  t.equal(run(w, e3).action, XdpAction.Pass, 'an error about someone else’s packet passes');
});

t.test('fragments go where their flow goes: the first by its ports, the later ones after it (frags map), else by address', async (t) => {
  const w = world(4);
  const c = parseIpv4('10.8.0.1');
  // a client port whose flow hashes elsewhere than the address alone
  const cport = [...Array(64).keys()].map((i) => 4000 + i).find((p) => slotOf(c, p, 4) !== slotOf(c, 0, 4))!;
  const flow = slotOf(c, cport, 4);
  const byAddr = slotOf(c, 0, 4);
  t.equal(run(w, toVip('10.8.0.1', cport, 'udp')).key, flow, 'the flow, unfragmented');
  const first = packet().eth().ipv4({ src: '10.8.0.1', dst: VIP, mf: true, id: 9 }).udp({ sport: cport, dport: 80 }).payload(64).build();
  const rest = packet().eth().ipv4({ src: '10.8.0.1', dst: VIP, fragOffset: 9, id: 9, protocol: 17 }).payload(40).build();
  t.equal(run(w, first).key, flow, 'a first fragment: by its ports, like its flow');
  t.equal(run(w, rest).key, flow, 'a later fragment: where its first went');
  t.equal(run(w, rest).key, flow, 'and every later one of that datagram');
  const stray = packet().eth().ipv4({ src: '10.8.0.1', dst: VIP, fragOffset: 9, id: 10, protocol: 17 }).payload(40).build();
  t.equal(run(w, stray).key, byAddr, 'a later fragment before (or without) its first: by address');
  // the real server's reply, fragmented (a large DNS answer to a small query)
  const backFirst = packet().eth().ipv4({ src: RS, dst: '10.8.0.1', mf: true, id: 3 }).udp({ sport: 80, dport: cport }).payload(64).build();
  const backRest = packet().eth().ipv4({ src: RS, dst: '10.8.0.1', fragOffset: 9, id: 3, protocol: 17 }).payload(40).build();
  t.equal(run(w, backFirst).key, flow, 'a reply\'s first fragment: by the client\'s port');
  t.equal(run(w, backRest).key, flow, 'its later fragments follow');
  t.equal(stat(w, Stat.Fragment), 4, 'later fragments counted as fragments (first ones as IP)');
  const host = packet().eth().ipv4({ src: RS, dst: HOST, fragOffset: 20, id: 3, protocol: 17 }).payload(40).build();
  t.equal(run(w, host).action, XdpAction.Pass, 'a fragment to the host passes');
  // the map is bounded (LRU): an old datagram's later fragment falls back to its address
  for (let id = 100; id < 108; id++) {
    run(w, packet().eth().ipv4({ src: '10.8.0.1', dst: VIP, mf: true, id }).udp({ sport: cport, dport: 80 }).payload(8).build());
  }
  t.equal(w.maps.get(FD.frags)!.entries.size, 8, 'the frags map holds at most its size');
  t.equal(run(w, rest).key, byAddr, 'an evicted datagram: by address');

  // address-only services: first and later fragments by address
  const wa = world(4, 1, { addrOnly: true });
  t.equal(run(wa, first).key, byAddr);
  t.equal(run(wa, rest).key, byAddr);

  // the AF_PACKET fanout program decides alike; the filter keeps them all
  const wf = world(4);
  const fanout = steeringProgram(4, FD, 'fanout').assemble();
  const filter = steeringProgram(4, FD, 'filter').assemble();
  t.equal(runSkb(fanout, wf.maps, first, 14).action, flow, 'fanout: the first fragment by its ports');
  t.equal(runSkb(fanout, wf.maps, rest, 14).action, flow, 'fanout: the later one after it');
  t.equal(runSkb(fanout, wf.maps, stray, 14).action, byAddr, 'fanout: a stray one by address');
  for (const f of [first, rest, stray]) t.equal(runSkb(filter, wf.maps, f, 0).action, FILTER_KEEP, 'the filter keeps the director\'s fragments');
  t.equal(wf.maps.get(FD.frags)!.entries.size, 1, 'the filter writes nothing (the fanout program remembered the one datagram)');
});

t.test('ARP for a director address goes to slot 0 of its queue', async (t) => {
  const w = world(3, 2);
  const req = packet().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderIp: '10.0.2.1', targetIp: ARP_ADDR }).build();
  t.equal(run(w, req, 0).key, socketIndex(0, 0, 3));
  t.equal(run(w, req, 1).key, socketIndex(1, 0, 3));
  t.equal(stat(w, Stat.Arp), 2);
});

t.test('an 802.1Q tag is looked through', async (t) => {
  const w = world(2);
  const tagged = packet().eth({ vlan: 42 }).ipv4({ src: '10.3.3.3', dst: VIP }).tcp({ sport: 1234, dport: 80 }).build();
  t.equal(run(w, tagged).key, slotOf(parseIpv4('10.3.3.3'), 1234, 2));
});

t.test('a socket index without a socket falls back to XDP_PASS', async (t) => {
  const w = world(2, 1, { missing: [0, 1] });
  t.equal(run(w, toVip('10.4.4.4', 1)).action, XdpAction.Pass);
});

t.test('truncated and random frames never make the program read outside the frame', async (t) => {
  const w = world(2);
  const full = [
    toVip('10.6.0.1', 1),
    fromRs('10.6.0.1', 1, 'udp'),
    packet().eth({ vlan: 3 }).ipv4({ src: '10.6.0.1', dst: VIP }).udp({ sport: 1, dport: 80 }).build(),
    packet().eth().ipv4({ src: '10.0.0.254', dst: VIP }).icmp({ type: 3, code: 1 }).payload(quoteOf(packet().ipv4({ src: VIP, dst: '10.6.0.1' }).tcp({ sport: 80, dport: 1 }).build())).build(),
    packet().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderIp: '10.0.2.1', targetIp: ARP_ADDR }).build(),
  ];
  let runs = 0;
  for (const f of full) {
    for (let len = 0; len < f.length; len++) {
      const r = runXdp(w.prog, w.maps, f.slice(0, len));
      t.ok(r.action === XdpAction.Pass || r.action === XdpAction.Redirect);
      runs++;
    }
  }
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.constantFrom(0x0800, 0x0806, 0x8100), (bytes, type) => {
      if (bytes.length >= 14) {
        bytes[12] = type >> 8;
        bytes[13] = type & 255;
      }
      const r = runXdp(w.prog, w.maps, bytes);
      return r.action === XdpAction.Pass || r.action === XdpAction.Redirect;
    }),
    { numRuns: 500 },
  );
  t.ok(runs > 100, `${runs} truncations ran`);
});

t.test('AF_PACKET forms: the fanout program picks the same slot, the filter keeps only the director’s frames', async (t) => {
  for (const slots of [1, 2, 5]) {
    const w = world(slots);
    const fanout = steeringProgram(slots, FD, 'fanout').assemble();
    const filter = steeringProgram(slots, FD, 'filter').assemble();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 1, max: 65535 }), (c, port) => {
        const client = ip(c);
        const want = slotOf(parseIpv4(client), port, slots);
        const a = toVip(client, port);
        const b = fromRs(client, port, 'udp');
        return (
          runSkb(fanout, w.maps, a, 14).action === want &&
          runSkb(fanout, w.maps, b, 14).action === want &&
          runSkb(filter, w.maps, a, 0).action === FILTER_KEEP &&
          runSkb(filter, w.maps, b, 0).action === FILTER_KEEP
        );
      }),
      { numRuns: 100 },
    );
  }
  const w = world(3);
  const fanout = steeringProgram(3, FD, 'fanout').assemble();
  const filter = steeringProgram(3, FD, 'filter').assemble();
  const other = packet().eth().ipv4({ src: '10.0.0.5', dst: '10.0.3.3' }).tcp({ sport: 1, dport: 80 }).build();
  t.equal(runSkb(filter, w.maps, other, 0).action, 0, 'another host’s frame is dropped from the sockets');
  t.equal(runSkb(fanout, w.maps, other, 14).action, 0, 'and the fanout sends it to socket 0 (whose filter drops it)');
  const arp = packet().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderIp: '10.0.2.1', targetIp: ARP_ADDR }).build();
  t.equal(runSkb(filter, w.maps, arp, 0).action, FILTER_KEEP, 'ARP for a director address is kept');
  t.equal(runSkb(fanout, w.maps, arp, 14).action, 0, 'on slot 0');
  const before = stat(w, Stat.Ip);
  runSkb(fanout, w.maps, toVip('10.1.2.3', 4), 14);
  t.equal(stat(w, Stat.Ip), before, 'the fanout program does not count (the filter does)');
  runSkb(filter, w.maps, toVip('10.1.2.3', 4), 0);
  t.equal(stat(w, Stat.Ip), before + 1);
  // long frames: only the first 160 bytes are looked at
  const big = packet().eth().ipv4({ src: '10.4.4.4', dst: VIP }).udp({ sport: 7, dport: 80 }).payload(1400).build();
  t.equal(runSkb(fanout, w.maps, big, 14).action, slotOf(parseIpv4('10.4.4.4'), 7, 3));
  for (let len = 0; len < 80; len++) {
    const r = runSkb(filter, w.maps, toVip('10.6.0.1', 1).slice(0, len), 0);
    t.ok(r.action === 0 || r.action === FILTER_KEEP);
  }
});

t.test('VRRP (112) steered by an entry of port 0 (every VRID): by its source address', async (t) => {
  const w = world(3);
  const group = parseIpv4('224.0.0.18');
  // port 0 of protocol 112 is the whole protocol (the program's port-0 fallback)
  w.maps.get(FD.vips)!.entries.set(hex(endpointKey(group, 0, 112)), u32Value(0));
  w.maps.get(FD.addrs)!.entries.set(hex(addrKey(group)), u32Value(AddrFlag.Vip));
  const advert = (src: string): Uint8Array =>
    packet().eth({ dst: '01:00:5e:00:00:12' }).ipv4({ src, dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(Uint8Array.of(0x31, 61, 100, 1, 0, 20, 0, 0, 10, 0, 2, 100)).build();
  for (const src of ['10.0.2.1', '10.0.2.2', '10.0.2.3']) t.equal(run(w, advert(src)).key, slotOf(parseIpv4(src), 0, 3), `an advert from ${src} to the slot of its source`);
  const other = packet().eth({ dst: '01:00:5e:00:00:12' }).ipv4({ src: '10.0.2.1', dst: '224.0.0.18', protocol: 2 }).payload(8).build();
  t.equal(run(w, other).action, XdpAction.Pass, 'another protocol to the group passes (IGMP stays with the kernel)');
  const filter = steeringProgram(3, FD, 'filter').assemble();
  t.equal(runSkb(filter, w.maps, advert('10.0.2.1'), 0).action, FILTER_KEEP, 'AF_PACKET: kept by the filter');
});

/** A VRRP (v3) advert from `src` to the group with `vrid`; `header` cuts the VRRP header to that many bytes. */
const vrrpAdvert = (src: string, vrid: number, opts: { header?: number; mf?: boolean; fragOffset?: number } = {}): Uint8Array => {
  const hdr = Uint8Array.of(0x31, vrid, 100, 1, 0, 20, 0, 0, 10, 0, 2, 100).slice(0, opts.header ?? 12);
  const ip = { src, dst: '224.0.0.18', ttl: 255, protocol: 112, id: 5, ...(opts.mf ? { mf: true } : {}), ...(opts.fragOffset ? { fragOffset: opts.fragOffset } : {}) };
  return packet().eth({ dst: '01:00:5e:00:00:12' }).ipv4(ip).payload(hdr).build();
};

/** A world where the group's VRID 51 is the director's (what vrrpSteering adds: (224.0.0.18, 51, 112)). */
function vrrpWorld(slots: number): World {
  const w = world(slots);
  const group = parseIpv4('224.0.0.18');
  w.maps.get(FD.vips)!.entries.set(hex(endpointKey(group, 51, VRRP_PROTO)), u32Value(0));
  w.maps.get(FD.addrs)!.entries.set(hex(addrKey(group)), u32Value(AddrFlag.Vip));
  return w;
}

t.test('VRRP by VRID (xdp): our VRID steered by its source, other VRIDs and short headers pass, fragments by address', async (t) => {
  const w = vrrpWorld(3);
  for (const src of ['10.0.2.1', '10.0.2.2', '10.0.2.3']) t.equal(run(w, vrrpAdvert(src, 51)).key, slotOf(parseIpv4(src), 0, 3), `VRID 51 from ${src}: to the slot of its source`);
  t.equal(stat(w, Stat.Ip), 3, 'counted as IP redirects');
  for (const vrid of [50, 52, 1, 255, 102]) t.equal(run(w, vrrpAdvert('10.0.2.1', vrid)).action, XdpAction.Pass, `VRID ${vrid}: passes to the kernel`);
  t.equal(run(w, vrrpAdvert('10.0.2.1', 0)).action, XdpAction.Pass, 'VRID 0 (not VRRP) passes: no port-0 entry');
  t.equal(stat(w, Stat.Pass), 6, 'counted as passed');
  for (const header of [0, 1]) {
    const f = vrrpAdvert('10.0.2.1', 51, { header });
    t.equal(f.length, 14 + 20 + header, `a ${header}-byte VRRP header is not padded`);
    t.equal(run(w, f).action, XdpAction.Pass, `a ${header}-byte VRRP header passes`);
  }
  t.equal(stat(w, Stat.Short), 2, 'counted as short');
  t.equal(run(w, vrrpAdvert('10.0.2.1', 51, { header: 2 })).key, slotOf(parseIpv4('10.0.2.1'), 0, 3), '2 bytes are enough to read the VRID');
  // fragments keep the fragment rule (no VRID read from them): the group is a VIP address
  const first = vrrpAdvert('10.0.2.1', 52, { mf: true });
  const later = vrrpAdvert('10.0.2.1', 52, { fragOffset: 3 });
  t.equal(run(w, first).key, slotOf(parseIpv4('10.0.2.1'), 0, 3), 'a first fragment: by address, its VRID not read');
  t.equal(run(w, later).key, slotOf(parseIpv4('10.0.2.1'), 0, 3), 'a later fragment: by address');
  t.equal(stat(w, Stat.Fragment), 2, 'counted as fragments');
  // a unicast instance: (its source address, VRID, 112)
  const own = '10.0.2.9';
  w.maps.get(FD.vips)!.entries.set(hex(endpointKey(parseIpv4(own), 7, VRRP_PROTO)), u32Value(0));
  w.maps.get(FD.addrs)!.entries.set(hex(addrKey(parseIpv4(own))), u32Value(AddrFlag.Vip | AddrFlag.Arp));
  const uni = (vrid: number): Uint8Array => packet().eth().ipv4({ src: '10.0.1.2', dst: own, ttl: 255, protocol: 112 }).payload(Uint8Array.of(0x31, vrid, 100, 1, 0, 20, 0, 0)).build();
  t.equal(run(w, uni(7)).key, slotOf(parseIpv4('10.0.1.2'), 0, 3), 'unicast VRID 7 to the director\'s address: steered');
  t.equal(run(w, uni(8)).action, XdpAction.Pass, 'unicast VRID 8 to the same address: passes');
});

t.test('VRRP by VRID (AF_PACKET fanout and filter): the same decisions', async (t) => {
  const slots = 3;
  const w = vrrpWorld(slots);
  const fanout = steeringProgram(slots, FD, 'fanout').assemble();
  const filter = steeringProgram(slots, FD, 'filter').assemble();
  const srcs = Array.from({ length: 12 }, (_, i) => `10.0.2.${i + 1}`);
  for (const src of srcs) {
    t.equal(runSkb(filter, w.maps, vrrpAdvert(src, 51), 0).action, FILTER_KEEP, `VRID 51 from ${src}: kept`);
    t.equal(runSkb(fanout, w.maps, vrrpAdvert(src, 51), 14).action, slotOf(parseIpv4(src), 0, slots), `and on the slot of its source`);
  }
  t.ok(new Set(srcs.map((s) => slotOf(parseIpv4(s), 0, slots))).size > 1, 'the sources hash to more than one slot');
  for (const vrid of [52, 0, 255]) t.equal(runSkb(filter, w.maps, vrrpAdvert('10.0.2.1', vrid), 0).action, 0, `VRID ${vrid}: dropped from the sockets (the kernel has it)`);
  const short = Stat.Short;
  const before = stat(w, short);
  for (const header of [0, 1]) t.equal(runSkb(filter, w.maps, vrrpAdvert('10.0.2.1', 51, { header }), 0).action, 0, `a ${header}-byte VRRP header: dropped`);
  t.equal(stat(w, short), before + 2, 'counted as short');
  t.equal(runSkb(filter, w.maps, vrrpAdvert('10.0.2.1', 51, { header: 2 }), 0).action, FILTER_KEEP, 'a 2-byte header is enough');
  t.equal(runSkb(filter, w.maps, vrrpAdvert('10.0.2.1', 52, { mf: true }), 0).action, FILTER_KEEP, 'a fragment: by address (the fragment rule), its VRID not read');
  t.equal(runSkb(fanout, w.maps, vrrpAdvert('10.0.2.2', 52, { fragOffset: 3 }), 14).action, slotOf(parseIpv4('10.0.2.2'), 0, slots), 'a later fragment: on the slot of its source address');
  const tagged = packet().eth({ vlan: 5, dst: '01:00:5e:00:00:12' }).ipv4({ src: '10.0.2.4', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(Uint8Array.of(0x31, 51, 100, 1)).build();
  t.equal(runSkb(filter, w.maps, tagged, 0).action, FILTER_KEEP, 'behind an 802.1Q tag too');
  for (let len = 0; len < 50; len++) {
    const r = runSkb(filter, w.maps, vrrpAdvert('10.0.2.1', 51).slice(0, len), 0);
    t.ok(r.action === 0 || (r.action === FILTER_KEEP && len >= 14 + 20 + 2), `cut at ${len}`);
  }
});
