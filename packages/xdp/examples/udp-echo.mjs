// udp-echo.mjs: answer UDP (and ARP) for an address on an interface, from JS, over AF_XDP.
//   node udp-echo.mjs IFNAME ADDRESS        (root; see the README for a namespace set-up)
// The interface need not have ADDRESS: the XDP program takes UDP to it, and ARP for it,
// into the socket; everything else still goes to the kernel.
import { openXdp } from '@tunvs/xdp';

const [ifname, address] = process.argv.slice(2);
const port = openXdp({
  ifname,
  steer: { vips: [{ addr: address, proto: 'udp' }], arp: [address] },
});
const me = address.split('.').map(Number);
const mac = port.mac;
const swap = (b, i, j, n) => {
  for (let k = 0; k < n; k++) [b[i + k], b[j + k]] = [b[j + k], b[i + k]];
};

for (const link of port.links) {
  const out = { buf: link.batch.buf, offsets: new Uint32Array(64), lengths: new Uint32Array(64), count: 0 };
  link.onBatch((batch) => {
    const b = batch.buf; // the UMEM: frames are answered where they were received
    out.count = 0;
    for (let i = 0; i < batch.count; i++) {
      const o = batch.offsets[i];
      if (b[o + 12] === 0x08 && b[o + 13] === 0x06 && b[o + 21] === 1) {
        // ARP request for our address: turn it into the reply
        swap(b, o + 22, o + 32, 10); // sender <-> target (hardware and protocol address)
        b.set(mac, o + 22); // we are the sender now
        b.set(b.subarray(o + 32, o + 38), o); // Ethernet destination: who asked
        b.set(mac, o + 6);
        b[o + 21] = 2;
      } else if (b[o + 12] === 0x08 && b[o + 13] === 0x00 && b[o + 23] === 17) {
        const l4 = o + 14 + (b[o + 14] & 15) * 4;
        swap(b, o, o + 6, 6); // MACs
        swap(b, o + 26, o + 30, 4); // IPv4 addresses
        swap(b, l4, l4 + 2, 2); // UDP ports: every checksum stays valid
      } else continue;
      out.offsets[out.count] = o;
      out.lengths[out.count++] = batch.lengths[i];
    }
    link.writeBatch(out); // zero copy: the reply leaves from the receive frame
  });
}
console.log(`answering UDP for ${me.join('.')} on ${ifname}: ${port.links.length} socket(s), XDP ${port.mode} mode, ${port.zeroCopy ? 'zero-copy' : 'copy'}`);
process.on('SIGINT', () => {
  port.close(); // detaches the program too
  process.exit(0);
});
process.on('SIGTERM', () => process.emit('SIGINT'));
