// The addon forwarder for the tuntap benchmark: @tunvs/tuntap reads batches from the TUN on
// the event loop, swaps IPv4 addresses and UDP ports in place, and writes each batch back.
//   node forward-addon.mjs IFNAME SECONDS
// Prints {"ready":true}, then SECONDS after the first packet {"packets":N,"seconds":S,...}.
import { openTun } from '@tunvs/tuntap';

const [name, secs] = [process.argv[2], Number(process.argv[3])];
const dev = openTun({ name, up: false, batchSize: 64 });
const link = dev.link;
let packets = 0;
let start = 0;
link.onBatch((b) => {
  const buf = b.buf;
  if (start === 0) {
    start = performance.now();
    setTimeout(done, secs * 1000);
  }
  for (let i = 0; i < b.count; i++) {
    const o = b.offsets[i];
    if (b.lengths[i] < 28 || buf[o] >> 4 !== 4) continue;
    for (let k = 0; k < 4; k++) {
      const t = buf[o + 12 + k];
      buf[o + 12 + k] = buf[o + 16 + k];
      buf[o + 16 + k] = t;
    }
    if (buf[o + 9] === 17) {
      const u = o + (buf[o] & 15) * 4;
      const t0 = buf[u];
      const t1 = buf[u + 1];
      buf[u] = buf[u + 2];
      buf[u + 1] = buf[u + 3];
      buf[u + 2] = t0;
      buf[u + 3] = t1;
    }
  }
  packets += link.writeBatch(b);
});
function done() {
  const seconds = (performance.now() - start) / 1000;
  const c = link.counters;
  process.stdout.write(
    JSON.stringify({ packets, seconds, batches: c.rxBatches, txDropped: c.txDropped, txErrors: c.txErrors }) + '\n',
  );
  dev.close();
  process.exit(0);
}
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
