// Listen for VRRP adverts on an interface for a few seconds and print them (root; run it
// in the namespace of the interface), then show rtnetlink by adding and removing an address:
//   node packages/hostnet/examples/vrrp-listen.mjs IFNAME [SECONDS] [ADDRESS/PREFIX]
import { RawIpSocket, Rtnetlink, ifInfo } from '@tunvs/hostnet';
import { formatIpv4, parseIpv4 } from '@tunvs/packet';

const [ifname = 'eth0', seconds = '3', address = '192.0.2.200/32'] = process.argv.slice(2);
const info = ifInfo(ifname);
if (!info) throw new Error(`no interface ${ifname}`);
const sock = new RawIpSocket(112, ifname, ({ data, dst }) => {
  const hl = (data[0] & 0x0f) * 4;
  const v = data.subarray(hl);
  console.log(`${formatIpv4((data[12] << 24 | data[13] << 16 | data[14] << 8 | data[15]) >>> 0)} -> ${formatIpv4(dst)} ttl ${data[8]} version ${v[0] >> 4} vrid ${v[1]} priority ${v[2]} addresses ${v[3]}`);
});
sock.join(parseIpv4('224.0.0.18'), info.index);
setTimeout(() => {
  sock.close();
  const nl = new Rtnetlink();
  const [a, p] = address.split('/');
  const spec = { ifindex: info.index, addr: parseIpv4(a), prefix: Number(p ?? 32), label: `${ifname}:vrrp` };
  nl.addAddress(spec);
  const have = nl.addresses().filter((x) => x.index === info.index).map((x) => `${formatIpv4(x.addr)}/${x.prefix}`);
  console.log(`addresses of ${ifname} with ${address}: ${have.join(' ')}`);
  nl.delAddress(spec);
  nl.close();
}, Number(seconds) * 1000);
