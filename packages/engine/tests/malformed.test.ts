// Malformed frames through the Director: each one is dropped, nothing is sent, and it is
// counted under exactly its parser reason (the same one classifyFrame gives), frame by
// frame, on TUN and on TAP.
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { EtherType, IcmpType, ParseReason, packet, parseMac, quoteOf, reasonName } from '@tunvs/packet';
import { Director } from '../src/index.js';

const VIP = '10.10.0.100';
const CLIENT = '10.10.0.2';
const MAC = '02:00:00:00:00:01';

const tcp = () => packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'S' }).payload('abcd').build();
const edit = (p: Uint8Array, f: (b: Uint8Array) => void): Uint8Array => {
  const c = Uint8Array.from(p);
  f(c);
  return c;
};
/** Re-checksum the IPv4 header at 0 (so that only the intended field is wrong). */
function fixIp(b: Uint8Array): Uint8Array {
  b[10] = 0;
  b[11] = 0;
  const hl = (b[0]! & 15) * 4;
  let s = 0;
  for (let i = 0; i < hl; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  b[10] = s >>> 8;
  b[11] = s & 0xff;
  return b;
}

/** [what, frame, the reason it must be counted under] for a TUN link (raw IPv4). */
const TUN_CASES: [string, () => Uint8Array, number][] = [
  ['10 bytes', () => tcp().slice(0, 10), ParseReason.Ipv4Truncated],
  ['IP version 6', () => edit(tcp(), (b) => (b[0] = 0x65)), ParseReason.Ipv6Unsupported],
  ['IP version 5', () => edit(tcp(), (b) => (b[0] = 0x55)), ParseReason.Ipv4BadVersion],
  ['IHL 4', () => edit(tcp(), (b) => (b[0] = 0x44)), ParseReason.Ipv4BadIhl],
  ['IHL 15 in a 24-byte packet', () => edit(tcp().slice(0, 24), (b) => (b[0] = 0x4f)), ParseReason.Ipv4HeaderTruncated],
  ['total length beyond the packet', () => fixIp(edit(tcp(), (b) => { b[2] = 0x05; b[3] = 0xdc; })), ParseReason.Ipv4TotalLengthBeyondBuffer],
  ['total length below the header', () => fixIp(edit(tcp(), (b) => { b[2] = 0; b[3] = 16; })), ParseReason.Ipv4TotalLengthShort],
  ['an option running past the header', () => packet().ipv4({ src: CLIENT, dst: VIP, options: Uint8Array.of(0x44, 12, 5, 0) }).tcp({ sport: 1, dport: 80, flags: 'S' }).build(), ParseReason.Ipv4BadOptions],
  ['a fragment ending past 65535', () => packet().ipv4({ src: CLIENT, dst: VIP, fragOffset: 8190, protocol: Proto.TCP }).payload(100).build(), ParseReason.Ipv4FragmentTooLarge],
  ['TCP shorter than its header', () => packet().ipv4({ src: CLIENT, dst: VIP, protocol: Proto.TCP }).payload(12).build(), ParseReason.TcpTruncated],
  ['TCP data offset 4', () => edit(tcp(), (b) => (b[20 + 12] = 0x40)), ParseReason.TcpBadDataOffset],
  ['UDP shorter than its header', () => packet().ipv4({ src: CLIENT, dst: VIP, protocol: Proto.UDP }).payload(6).build(), ParseReason.UdpTruncated],
  ['UDP length past the packet', () => packet().ipv4({ src: CLIENT, dst: VIP }).udp({ sport: 1, dport: 53, length: 200 }).payload(8).build(), ParseReason.UdpBadLength],
  ['ICMP shorter than its header', () => packet().ipv4({ src: CLIENT, dst: VIP, protocol: Proto.ICMP }).payload(4).build(), ParseReason.IcmpTruncated],
  ['ICMP with a wrong checksum', () => packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: IcmpType.EchoRequest, checksum: 0x1234 }).build(), ParseReason.IcmpBadChecksum],
  ['an ICMP error quoting 10 bytes', () => packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: IcmpType.DestUnreachable }).payload(tcp().slice(0, 10)).build(), ParseReason.IcmpQuoteTruncated],
  ['an ICMP error quoting IPv6', () => packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: IcmpType.TimeExceeded }).payload(edit(quoteOf(tcp()), (b) => (b[0] = 0x60))).build(), ParseReason.IcmpQuoteBad],
  ['a first fragment without the whole TCP header', () => packet().ipv4({ src: CLIENT, dst: VIP, mf: true, protocol: Proto.TCP }).payload(16).build(), ParseReason.FirstFragmentTruncated],
];

const eth = (payload: Uint8Array, etherType: number = EtherType.Ipv4) => packet().eth({ dst: MAC, etherType }).payload(payload).build();

/** The same for a TAP link (Ethernet frames; the IP header checksum is verified there). */
const TAP_CASES: [string, () => Uint8Array, number][] = [
  ['10 bytes', () => new Uint8Array(10), ParseReason.EthTruncated],
  ['a VLAN tag cut short', () => edit(eth(new Uint8Array(0), EtherType.Vlan), () => {}).slice(0, 16), ParseReason.VlanTruncated],
  ['EtherType 0x88cc (LLDP)', () => eth(new Uint8Array(40), 0x88cc), ParseReason.EtherTypeUnsupported],
  ['IPv6', () => eth(new Uint8Array(40), EtherType.Ipv6), ParseReason.Ipv6Unsupported],
  ['ARP of 20 bytes', () => eth(new Uint8Array(20), EtherType.Arp), ParseReason.ArpTruncated],
  ['ARP for another hardware type', () => eth(new Uint8Array(28), EtherType.Arp), ParseReason.ArpUnsupported],
  ['an IPv4 header with a wrong checksum', () => eth(edit(tcp(), (b) => (b[10]! ^= 0xff))), ParseReason.Ipv4BadChecksum],
  ['TCP data offset 15 in a short segment', () => eth(fixIp(edit(tcp(), (b) => (b[20 + 12] = 0xf0)))), ParseReason.TcpBadDataOffset],
];

function director(kind: 'tun' | 'tap'): { d: Director; link: MemoryLink } {
  const link = new MemoryLink(kind, 1500);
  const d = new Director({
    links: [link], timers: false, now: () => 1000, sourceAddress: '10.10.1.1',
    ...(kind === 'tap' ? { mac: parseMac(MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }] } : {}),
  });
  d.start();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80 });
  d.addService({ protocol: 'udp', addr: VIP, port: 53 });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: '10.10.1.11', port: 80, method: 'masq' });
  link.drain();
  return { d, link };
}

for (const [kind, cases] of [['tun', TUN_CASES], ['tap', TAP_CASES]] as const) {
  t.test(`${kind}: every malformed frame is counted under its own reason`, (t) => {
    const { d, link } = director(kind);
    for (const [what, make, reason] of cases) {
      const before = Float64Array.from(d.counters.malformed);
      link.receive(make());
      t.equal(link.drain().length, 0, `${what}: nothing sent`);
      const moved: string[] = [];
      d.counters.malformed.forEach((v, i) => {
        if (v !== before[i]) moved.push(`${reasonName(i)}+${v - before[i]!}`);
      });
      t.same(moved, [`${reasonName(reason)}+1`], `${what}: counted as ${reasonName(reason)}`);
    }
    t.equal(d.counters.malformedTotal, cases.length);
    t.match(d.stats(), Object.fromEntries(cases.map(([, , r]) => [`malformed.${reasonName(r)}`, Number])), 'listed by name in stats()');
    t.end();
  });
}

t.test('stats() lists a link counters served through getters (as AF_XDP and AF_PACKET links do), and only numbers', (t) => {
  const link = new MemoryLink('tun', 1500);
  const raw = { rxPackets: 7, rxBytes: 700, rxBatches: 1, txPackets: 3, txBytes: 300, txDropped: 1, txErrors: 0, rxErrors: 2 };
  class GetterCounters {
    constructor(private readonly read: () => typeof raw) {}
    get rxPackets(): number { return this.read().rxPackets; }
    get rxBytes(): number { return this.read().rxBytes; }
    get rxBatches(): number { return this.read().rxBatches; }
    get txPackets(): number { return this.read().txPackets; }
    get txBytes(): number { return this.read().txBytes; }
    get txDropped(): number { return this.read().txDropped; }
    get txErrors(): number { return this.read().txErrors; }
    get rxErrors(): number { return this.read().rxErrors; }
  }
  Object.defineProperty(link, 'counters', { value: new GetterCounters(() => raw) });
  const d = new Director({ links: [link], timers: false, now: () => 1000, sourceAddress: '10.10.1.1' });
  const s = d.stats();
  t.match(s, { 'link0.rxPackets': 7, 'link0.txBytes': 300, 'link0.txDropped': 1, 'link0.rxErrors': 2 });
  t.same(Object.values(s).filter((v) => typeof v !== 'number'), [], 'every entry a number');
  t.end();
});
