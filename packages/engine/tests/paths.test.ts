// Engine tests of the paths the forwarder fixtures do not reach on their own: ICMP errors
// of tracked DR and IPIP flows, TTL exceeded, echo replies, the local method, the fwmark
// classifier, CHECKSUM_PARTIAL and GSO packets with a vnet header, the kernel option, and
// the refusal of a method the link cannot carry. Frames are inspected with the parser.
import t from 'tap';
import { MemoryLink, VNET_F, VNET_GSO, VNET_HDR, VNET_HDR_LEN } from '@tunvs/link';
import { ControlError, Proto } from '@tunvs/model';
import {
  CheckFlags, FrameInfo, IcmpQuoteView, IcmpType, IcmpUnreachCode, classifyFrame, csumFold, formatIpv4, formatMac, packet,
  parseIpv4, parseMac, pseudoHeaderSum, quoteOf, rd16, wr16,
} from '@tunvs/packet';
import { Director } from '../src/index.js';

const VIP = '10.10.0.100';
const CLIENT = '10.10.0.2';
const ROUTER = '192.0.2.1';
const MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:02';
const RS_MAC = '02:00:00:00:00:11';
const KEY = { protocol: 'tcp' as const, addr: VIP, port: 80 };

/** Parse a frame the director sent (every checksum verified unless `flags` says less). */
function parse(f: Uint8Array, kind: 'tun' | 'tap', flags: number = CheckFlags.All, vnet = 0): FrameInfo {
  const info = new FrameInfo();
  const r = classifyFrame(f, vnet, f.length - vnet, kind, info, flags);
  if (r !== 0) throw new Error(`the director sent an invalid frame (reason ${r})`);
  return info;
}

function tap(): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tap', 1500);
  const d = new Director({ links: [link], mac: parseMac(MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }], gateway: '10.10.0.254', timers: false, now: () => 1000 });
  d.start();
  // the client and the real server make themselves known (ARP requests for our address)
  for (const [mac, ip] of [[CLIENT_MAC, CLIENT], [RS_MAC, '10.10.0.11']] as const) {
    link.receive(packet().eth({ src: mac, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: mac, senderIp: ip, targetIp: '10.10.0.1' }).build());
  }
  link.drain();
  return { d, link };
}

function tun(opts: { sourceAddress?: string; vnet?: number; marks?: ConstructorParameters<typeof Director>[0]['marks'] } = {}): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500, 'mem0', opts.vnet ?? 0);
  const d = new Director({
    links: [link], timers: false, now: () => 1000,
    ...(opts.sourceAddress !== undefined ? { sourceAddress: opts.sourceAddress } : { sourceAddress: '10.10.1.1' }),
    ...(opts.marks ? { marks: opts.marks } : {}),
  });
  d.start();
  return { d, link };
}

const syn = (sport = 40000, eth = false) => {
  const b = packet();
  if (eth) b.eth({ src: CLIENT_MAC, dst: MAC });
  return b.ipv4({ src: CLIENT, dst: VIP, ttl: 64, df: true }).tcp({ sport, dport: 80, flags: 'S' }).build();
};
/** The reply VIP:80 -> client a real server would have sent (as an ICMP error quotes it). */
const reply = (sport = 40000) => packet().ipv4({ src: VIP, dst: CLIENT, ttl: 63 }).tcp({ sport: 80, dport: sport, flags: 'SA' }).build();

t.test('DR over TAP: ICMP errors of a tracked flow are relayed both ways', (t) => {
  const { d, link } = tap();
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.0.11', port: 80, method: 'route' });
  link.drain();
  link.receive(syn(40000, true));
  t.equal(formatMac(link.drain()[0]!.subarray(0, 6)), RS_MAC, 'the flow goes to the real server');
  // from the client side: a router says host unreachable about our reply
  const err = packet().eth({ src: CLIENT_MAC, dst: MAC }).ipv4({ src: ROUTER, dst: VIP, ttl: 60 })
    .icmp({ type: IcmpType.DestUnreachable, code: IcmpUnreachCode.Host }).payload(quoteOf(reply())).build();
  link.receive(err);
  const [toRs] = link.drain();
  t.ok(toRs, 'relayed');
  t.equal(formatMac(toRs!.subarray(0, 6)), RS_MAC, 'to the real server\'s MAC');
  const i = parse(toRs!, 'tap');
  t.equal(formatIpv4(i.dst), VIP, 'IP header untouched');
  t.equal(i.ttl, 59, 'but the TTL');
  t.equal(i.icmpType, IcmpType.DestUnreachable);
  // from the real server's side: it quotes the client's packet, and goes back to the client
  const rsErr = packet().eth({ src: RS_MAC, dst: MAC }).ipv4({ src: VIP, dst: CLIENT, ttl: 64 })
    .icmp({ type: IcmpType.DestUnreachable, code: IcmpUnreachCode.Port }).payload(quoteOf(syn())).build();
  link.receive(rsErr);
  const [toClient] = link.drain();
  t.equal(formatMac(toClient!.subarray(0, 6)), CLIENT_MAC, 'to the client');
  t.equal(parse(toClient!, 'tap').ttl, 64, 'routed on unchanged');
  t.equal(d.counters.icmpRelayed, 2);
  const dest = d.listServices()[0]!.dests[0]!;
  t.equal(dest.stats.inPkts, 2, 'the SYN and the client-side error');
  t.equal(dest.stats.outPkts, 1, 'the server-side error');
  t.end();
});

t.test('IPIP over TUN: a client-side ICMP error of a tracked flow goes through the tunnel', (t) => {
  const { d, link } = tun();
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'tunnel' });
  link.receive(syn());
  link.drain();
  link.receive(packet().ipv4({ src: ROUTER, dst: VIP, ttl: 60 }).icmp({ type: IcmpType.TimeExceeded }).payload(quoteOf(reply())).build());
  const [o] = link.drain();
  const outer = parse(o!, 'tun');
  t.equal(outer.proto, Proto.IPIP);
  t.equal(formatIpv4(outer.src), '10.10.1.1');
  t.equal(formatIpv4(outer.dst), '10.10.1.11');
  const inner = new FrameInfo();
  t.equal(classifyFrame(o!, outer.l4Off, outer.l4Len, 'tun', inner, CheckFlags.All), 0, 'the inner ICMP error is intact');
  t.equal(inner.icmpType, IcmpType.TimeExceeded);
  t.equal(inner.ttl, 59);
  t.equal(formatIpv4(inner.dst), VIP);
  t.equal(d.counters.icmpRelayed, 1);
  // an error about no tracked flow is left alone
  link.receive(packet().ipv4({ src: ROUTER, dst: VIP }).icmp({ type: IcmpType.TimeExceeded }).payload(quoteOf(reply(55555))).build());
  t.equal(link.drain().length, 0);
  t.equal(d.counters.icmpIgnored, 1);
  t.end();
});

t.test('TTL 1: not forwarded, ICMP time exceeded from the VIP quoting the packet', (t) => {
  const { d, link } = tun();
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
  const p = packet().ipv4({ src: CLIENT, dst: VIP, ttl: 1 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
  link.receive(p);
  const out = link.drain();
  t.equal(out.length, 1, 'only the error');
  const e = parse(out[0]!, 'tun');
  t.equal(e.icmpType, IcmpType.TimeExceeded);
  t.equal(formatIpv4(e.src), VIP);
  t.equal(formatIpv4(e.dst), CLIENT);
  const q = new IcmpQuoteView(out[0]!, e.quoteOff, e.quoteLen);
  t.equal(formatIpv4(q.dst), VIP, 'the quote is the packet as received');
  t.equal(q.dstPort, 80);
  t.equal(q.ttl, 1);
  t.equal(d.counters.ttlExceeded, 1);
  t.equal(d.counters.icmpSent, 1);
  t.end();
});

t.test('echo requests: answered for our addresses on TAP, ignored on TUN', (t) => {
  const { d, link } = tap();
  d.addService(KEY);
  link.drain();
  for (const dst of ['10.10.0.1', VIP]) {
    link.receive(packet().eth({ src: CLIENT_MAC, dst: MAC }).ipv4({ src: CLIENT, dst, ttl: 64 }).icmp({ type: IcmpType.EchoRequest, id: 7, seq: 3 }).payload('ping').build());
    const [r] = link.drain();
    t.ok(r, `a reply from ${dst}`);
    const i = parse(r!, 'tap');
    t.equal(i.icmpType, IcmpType.EchoReply);
    t.equal(formatIpv4(i.src), dst);
    t.equal(formatIpv4(i.dst), CLIENT);
    t.equal(formatMac(r!.subarray(0, 6)), CLIENT_MAC);
    t.same([...r!.subarray(r!.length - 4)], [...new TextEncoder().encode('ping')], 'the data echoed');
  }
  link.receive(packet().eth({ src: CLIENT_MAC, dst: MAC }).ipv4({ src: CLIENT, dst: '10.10.0.77' }).icmp({ type: IcmpType.EchoRequest }).build());
  t.equal(link.drain().length, 0, 'not for an address we do not own');
  t.equal(d.counters.icmpSent, 2);
  const { d: d2, link: l2 } = tun();
  d2.addService(KEY);
  l2.receive(packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: IcmpType.EchoRequest }).build());
  t.equal(l2.drain().length, 0, 'TUN: the host answers for its addresses, not us');
  t.equal(d2.counters.icmpIgnored, 1);
  t.end();
});

t.test('the local method: delivered to a service of the director host, replies translated back', (t) => {
  const { d, link } = tun();
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.1', port: 8080, method: 'local' });
  t.equal(d.listServices()[0]!.dests[0]!.method, 'local');
  link.receive(syn());
  const i = parse(link.drain()[0]!, 'tun');
  t.equal(formatIpv4(i.dst), '10.10.1.1');
  t.equal(i.dstPort, 8080);
  t.equal(i.ttl, 64, 'delivered, not forwarded: TTL untouched');
  link.receive(packet().ipv4({ src: '10.10.1.1', dst: CLIENT }).tcp({ sport: 8080, dport: 40000, flags: 'SA' }).build());
  const r = parse(link.drain()[0]!, 'tun');
  t.equal(formatIpv4(r.src), VIP, 'the reply comes from the VIP');
  t.equal(r.srcPort, 80);
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'A' }).build());
  link.drain();
  t.equal(d.listConnections()[0]!.state, 'ESTABLISHED', 'the local service\'s reply moved the state');
  t.end();
});

t.test('the fwmark classifier: rules choose the service of new flows', (t) => {
  const { d, link } = tun({ marks: [{ mark: 7, protocol: 'tcp', daddr: parseIpv4('10.10.0.0'), prefix: 24, portFrom: 8000, portTo: 8100 }] });
  d.addService({ fwmark: 7, scheduler: 'rr' });
  d.addDest({ fwmark: 7 }, { addr: '10.10.1.11', port: 0, method: 'masq' });
  link.receive(packet().ipv4({ src: CLIENT, dst: '10.10.0.55' }).tcp({ sport: 1, dport: 8050, flags: 'S' }).build());
  const i = parse(link.drain()[0]!, 'tun');
  t.equal(formatIpv4(i.dst), '10.10.1.11', 'marked, scheduled');
  t.equal(i.dstPort, 8050, 'port 0 destination keeps the packet\'s port');
  link.receive(packet().ipv4({ src: CLIENT, dst: '10.10.0.55' }).tcp({ sport: 2, dport: 9000, flags: 'S' }).build());
  link.receive(packet().ipv4({ src: CLIENT, dst: '10.10.0.55' }).udp({ sport: 3, dport: 8050 }).build());
  link.receive(packet().ipv4({ src: CLIENT, dst: '10.10.9.55' }).tcp({ sport: 4, dport: 8050, flags: 'S' }).build());
  t.equal(link.drain().length, 0, 'other port, protocol or network: no service');
  t.equal(d.counters.noService, 3);
  t.equal(d.listServices()[0]!.stats.conns, 1);
  t.end();
});

/** A TUN frame with a vnet header: flags and gso type, then the IP packet. */
function withVnet(ip: Uint8Array, flags: number, gso: number): Uint8Array {
  const f = new Uint8Array(VNET_HDR_LEN + ip.length);
  f[VNET_HDR.FLAGS] = flags;
  f[VNET_HDR.GSO_TYPE] = gso;
  f.set(ip, VNET_HDR_LEN);
  return f;
}

t.test('CHECKSUM_PARTIAL: the pseudo-header sum follows the address, the vnet header is kept', (t) => {
  const { d, link } = tun({ vnet: VNET_HDR_LEN });
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.11', port: 8080, method: 'masq' });
  const ip = packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'S' }).payload('x'.repeat(100)).build();
  const l4len = ip.length - 20;
  // the sending stack leaves the folded pseudo-header sum in the checksum field
  wr16(ip, 20 + 16, csumFold(pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), Proto.TCP, l4len)));
  link.receive(withVnet(ip, VNET_F.NEEDS_CSUM, VNET_GSO.NONE));
  const [o] = link.drain();
  t.equal(o![VNET_HDR.FLAGS], VNET_F.NEEDS_CSUM, 'the vnet header went out with the packet');
  const i = parse(o!, 'tun', CheckFlags.IpChecksum, VNET_HDR_LEN);
  t.equal(formatIpv4(i.dst), '10.10.1.11');
  t.equal(i.dstPort, 8080);
  t.equal(rd16(o!, i.l4Off + 16), csumFold(pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4('10.10.1.11'), Proto.TCP, l4len)), 'partial sum of the new addresses');
  t.end();
});

t.test('GSO: a super-packet over the MTU is not refused for its size (no frag-needed)', (t) => {
  const { d, link } = tun({ vnet: VNET_HDR_LEN });
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
  link.receive(withVnet(syn(), 0, VNET_GSO.NONE));
  link.drain();
  const big = packet().ipv4({ src: CLIENT, dst: VIP, df: true }).tcp({ sport: 40000, dport: 80, flags: 'A' }).payload(new Uint8Array(3000)).build();
  link.receive(withVnet(big, VNET_F.NEEDS_CSUM, VNET_GSO.TCPV4));
  const [o] = link.drain();
  t.ok(o, 'forwarded');
  t.equal(o!.length, VNET_HDR_LEN + big.length, 'whole');
  t.equal(o![VNET_HDR.GSO_TYPE], VNET_GSO.TCPV4, 'still a GSO packet for the kernel to segment');
  t.equal(d.counters.fragNeeded, 0);
  // without the GSO mark the same DF packet is too big for the path
  link.receive(withVnet(big, 0, VNET_GSO.NONE));
  const [e] = link.drain();
  const i = parse(e!, 'tun', CheckFlags.All, VNET_HDR_LEN);
  t.equal(i.icmpType, IcmpType.DestUnreachable);
  t.equal(i.icmpCode, IcmpUnreachCode.FragNeeded);
  t.equal(d.counters.fragNeeded, 1);
  t.end();
});

t.test('the kernel option reaches the table, threshold edits and the schedulers', (t) => {
  for (const kernel of ['classic', '2026'] as const) {
    const link = new MemoryLink('tun', 1500);
    const d = new Director({ links: [link], kernel, timers: false, now: () => 1000, sourceAddress: '10.10.1.1' });
    d.start();
    t.equal(d.conns.options.kernel, kernel, 'connection table');
    d.addService({ ...KEY, scheduler: 'wlc' });
    t.equal(d.table.services[0]!.kernel, kernel, 'service (scheduler overhead)');
    d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
    link.receive(syn(1), syn(2));
    link.drain();
    // an edit that puts the upper threshold at the current count: only 2026 sets OVERLOAD on edit
    d.editDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq', upper: 2 });
    t.equal(d.table.services[0]!.dests[0]!.overloaded, kernel === '2026', `${kernel}: OVERLOAD after the edit`);
  }
  t.throws(() => new Director({ links: [new MemoryLink('tun')], kernel: 'bogus' as never }), /unknown kernel mode/);
  t.end();
});

t.test('a Director\'s links are of one layer: TUN and TAP together are refused, naming both', (t) => {
  t.throws(() => new Director({ links: [new MemoryLink('tun', 1500, 'q0'), new MemoryLink('tap', 1500, 'q1')] }), /a Director's links are all TUN or all TAP: q0 is TUN, q1 is TAP/);
  t.end();
});

t.test('a method the link cannot carry is refused when the destination is added', (t) => {
  const { d } = tun();
  d.addService(KEY);
  for (const dest of [{ addr: '10.10.1.11', port: 80, method: 'route' as const }, { addr: '10.10.1.12', port: 80 }]) {
    try {
      d.addDest(KEY, dest);
      t.fail('accepted');
    } catch (e) {
      t.ok(e instanceof ControlError);
      t.equal((e as ControlError).code, 'EINVAL');
      t.match((e as Error).message, /layer-2 \(TAP\) device/, 'the sentence says why');
    }
  }
  t.equal(d.listServices()[0]!.dests.length, 0, 'nothing was added');
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
  t.throws(() => d.editDest(KEY, { addr: '10.10.1.11', port: 80, method: 'route' }), { code: 'EINVAL' }, 'nor by an edit');
  const bare = new Director({ links: [new MemoryLink('tun')], timers: false });
  bare.addService(KEY);
  t.throws(() => bare.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'tunnel' }), { code: 'EINVAL', message: /source of the outer header/ }, 'a tunnel needs an address of ours');
  t.end();
});
