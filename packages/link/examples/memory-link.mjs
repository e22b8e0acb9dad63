// The Link contract with the in-memory link: a tiny "device program" that answers every
// IPv4 packet by swapping its addresses in place and writing it back, as a director does.
// Run after `npx tsc -b`: node packages/link/examples/memory-link.mjs
import { MemoryLink } from '@tunvs/link';
import { FrameInfo, Ipv4View, classifyFrame, formatIpv4, packet } from '@tunvs/packet';

const link = new MemoryLink('tun', 1500);   // a TUN-like link: each packet starts with its IPv4 header
const info = new FrameInfo();
const ip = new Ipv4View();
link.onBatch((batch) => {
  // one call per batch: the packets are offsets and lengths in one slab, valid only now
  for (let i = 0; i < batch.count; i++) {
    const off = batch.offsets[i];
    if (classifyFrame(batch.buf, off, batch.lengths[i], 'tun', info) !== 0) continue;
    ip.reset(batch.buf, info.l3Off, info.ipTotalLen);
    ip.src = info.dst;                      // swap source and destination, in place
    ip.dst = info.src;                      // (the header checksum does not change)
  }
  link.writeBatch(batch);                   // back out, from the same slab
});

link.receive(
  packet().ipv4({ src: '192.0.2.1', dst: '198.51.100.7' }).udp({ sport: 1000, dport: 53 }).build(),
  packet().ipv4({ src: '192.0.2.2', dst: '198.51.100.7' }).icmp({ type: 8, id: 1, seq: 1 }).build(),
);
for (const p of link.drain()) {
  classifyFrame(p, 0, p.length, 'tun', info);
  console.log(formatIpv4(info.src), '->', formatIpv4(info.dst));
}
console.log(link.counters.rxBatches, link.counters.rxPackets, link.counters.txPackets); // 1 2 2
