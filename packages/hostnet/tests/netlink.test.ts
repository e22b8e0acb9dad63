// rtnetlink messages as bytes (no root): header, ifaddrmsg/rtmsg/ndmsg/ifinfomsg bodies and
// attributes laid out as the kernel reads them, and parsed back.
import t from 'tap';
import {
  RTM, NLM_F, addrMessage, routeMessage, proxyNeighMessage, macvlanMessage, linkUpMessage, delLinkMessage, dumpMessage, splitMessages, parseAddr,
  parseLink, RTPROT_KEEPALIVED,
} from '../src/index.js';

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const ip = (s: string): number => s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);

/** attributes of a body after `skip` bytes: type -> data */
function attrs(b: Uint8Array, skip: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (let o = skip; o + 4 <= b.length; ) {
    const len = dv(b).getUint16(o, true);
    m.set(dv(b).getUint16(o + 2, true) & 0x3fff, b.subarray(o + 4, o + len));
    o += (len + 3) & ~3;
  }
  return m;
}

t.test('RTM_NEWADDR with label, scope and broadcast', (t) => {
  const m = addrMessage(true, { ifindex: 7, addr: ip('10.99.0.100'), prefix: 24, scope: 0, label: 'eth0:vip', broadcast: ip('10.99.0.255') });
  t.equal(dv(m).getUint32(0, true), m.length, 'nlmsg_len');
  t.equal(dv(m).getUint16(4, true), RTM.NEWADDR);
  t.equal(dv(m).getUint16(6, true), NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  const [msg] = splitMessages(m);
  t.same([...msg!.body.subarray(0, 4)], [2, 24, 0, 0], 'AF_INET, prefix 24, flags 0, scope 0');
  t.equal(dv(msg!.body).getUint32(4, true), 7, 'ifindex');
  const a = attrs(msg!.body, 8);
  t.same([...a.get(2)!], [10, 99, 0, 100], 'IFA_LOCAL');
  t.same([...a.get(1)!], [10, 99, 0, 100], 'IFA_ADDRESS');
  t.same([...a.get(4)!], [10, 99, 0, 255], 'IFA_BROADCAST');
  t.equal(Buffer.from(a.get(3)!).toString(), 'eth0:vip\0', 'IFA_LABEL, NUL terminated');
  t.match(parseAddr(msg!), { index: 7, addr: ip('10.99.0.100'), prefix: 24, label: 'eth0:vip', deleted: false });
  const del = splitMessages(addrMessage(false, { ifindex: 7, addr: ip('10.99.0.100'), prefix: 24 }))[0]!;
  t.equal(del.type, RTM.DELADDR);
  t.equal(del.flags, NLM_F.REQUEST | NLM_F.ACK, 'delete: no create/excl');
  t.end();
});

t.test('RTM_NEWROUTE: via, dev, metric, big table, blackhole', (t) => {
  const m = splitMessages(routeMessage(true, { dst: ip('10.50.0.0'), prefix: 16, via: ip('10.99.0.254'), ifindex: 3, metric: 10, table: 1000 }))[0]!;
  t.same([...m.body.subarray(0, 8)], [2, 16, 0, 0, 252, RTPROT_KEEPALIVED, 0, 1], 'family, dst_len, table 252 (RT_TABLE_COMPAT), proto 18, scope universe, unicast');
  const a = attrs(m.body, 12);
  t.same([...a.get(1)!], [10, 50, 0, 0], 'RTA_DST');
  t.same([...a.get(5)!], [10, 99, 0, 254], 'RTA_GATEWAY');
  t.equal(dv(a.get(4)!).getUint32(0, true), 3, 'RTA_OIF');
  t.equal(dv(a.get(6)!).getUint32(0, true), 10, 'RTA_PRIORITY');
  t.equal(dv(a.get(15)!).getUint32(0, true), 1000, 'RTA_TABLE');
  const b = splitMessages(routeMessage(true, { dst: ip('10.60.0.0'), prefix: 16, type: 6 }))[0]!;
  t.equal(b.body[7], 6, 'blackhole');
  const link = splitMessages(routeMessage(true, { dst: ip('10.99.0.100'), prefix: 32, ifindex: 9 }))[0]!;
  t.equal(link.body[6], 253, 'a device route without gateway: scope link');
  t.end();
});

t.test('proxy neighbour, macvlan, link up, delete, dump', (t) => {
  const n = splitMessages(proxyNeighMessage(true, 4, ip('10.99.0.100')))[0]!;
  t.equal(n.type, RTM.NEWNEIGH);
  t.equal(dv(n.body).getInt32(4, true), 4, 'ifindex');
  t.equal(n.body[10], 0x08, 'NTF_PROXY');
  t.same([...attrs(n.body, 12).get(1)!], [10, 99, 0, 100], 'NDA_DST');
  const mv = splitMessages(macvlanMessage('vrrp.51', 2, new Uint8Array([0, 0, 0x5e, 0, 1, 51])))[0]!;
  const a = attrs(mv.body, 16);
  t.equal(Buffer.from(a.get(3)!).toString(), 'vrrp.51\0', 'IFLA_IFNAME');
  t.equal(dv(a.get(5)!).getUint32(0, true), 2, 'IFLA_LINK');
  t.same([...a.get(1)!], [0, 0, 0x5e, 0, 1, 51], 'IFLA_ADDRESS = the VRRP virtual MAC');
  const info = attrs(a.get(18)!, 0);
  t.equal(Buffer.from(info.get(1)!).toString(), 'macvlan\0', 'IFLA_INFO_KIND');
  t.equal(dv(attrs(info.get(2)!, 0).get(1)!).getUint32(0, true), 1, 'MACVLAN_MODE_PRIVATE');
  const up = splitMessages(linkUpMessage(5, true))[0]!;
  t.equal(dv(up.body).getInt32(4, true), 5);
  t.equal(dv(up.body).getUint32(8, true), 1, 'IFF_UP');
  t.equal(dv(up.body).getUint32(12, true), 1, 'change mask IFF_UP');
  t.equal(splitMessages(delLinkMessage(5))[0]!.type, RTM.DELLINK);
  const d = splitMessages(dumpMessage(RTM.GETADDR))[0]!;
  t.equal(d.flags, NLM_F.REQUEST | NLM_F.DUMP);
  t.equal(d.body.length, 8, 'ifaddrmsg');
  t.end();
});

t.test('parseLink and splitMessages on several messages; garbage is not a crash', (t) => {
  const a = linkUpMessage(3, true);
  const b = linkUpMessage(4, false);
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const ms = splitMessages(both);
  t.equal(ms.length, 2);
  t.match(parseLink({ ...ms[1]!, type: RTM.DELLINK }), { index: 4, deleted: true });
  for (let i = 0; i < 200; i++) {
    const g = Uint8Array.from({ length: (i * 7) % 64 }, (_, k) => (k * 31 + i) & 0xff);
    for (const m of splitMessages(g)) {
      parseLink(m);
      parseAddr(m);
    }
  }
  t.pass('random bytes parse without throwing');
  t.end();
});
