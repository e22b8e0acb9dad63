// The threadpool forwarder for the tuntap benchmark (the approach DESIGN.md warns against):
// a blocking TUN fd read with fs.read (libuv threadpool), one packet per read, swapped and
// written back with fs.writeSync.
//   node forward-threadpool.mjs IFNAME SECONDS
import fs from 'node:fs';
import { openRawFd } from '@tunvs/tuntap';

const [name, secs] = [process.argv[2], Number(process.argv[3])];
const { fd } = openRawFd('tun', name, { blocking: true });
const buf = Buffer.alloc(65536);
let packets = 0;
let start = 0;
function onRead(err, n) {
  if (err) {
    process.stderr.write(String(err) + '\n');
    process.exit(1);
  }
  if (start === 0) {
    start = performance.now();
    setTimeout(done, secs * 1000);
  }
  if (n >= 28 && buf[0] >> 4 === 4) {
    for (let k = 0; k < 4; k++) {
      const t = buf[12 + k];
      buf[12 + k] = buf[16 + k];
      buf[16 + k] = t;
    }
    if (buf[9] === 17) {
      const u = (buf[0] & 15) * 4;
      const t0 = buf[u];
      const t1 = buf[u + 1];
      buf[u] = buf[u + 2];
      buf[u + 1] = buf[u + 3];
      buf[u + 2] = t0;
      buf[u + 3] = t1;
    }
    try {
      fs.writeSync(fd, buf, 0, n);
      packets++;
    } catch {
      // counted as not forwarded
    }
  }
  fs.read(fd, buf, 0, buf.length, null, onRead);
}
function done() {
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ packets, seconds }) + '\n');
  process.exit(0);
}
fs.read(fd, buf, 0, buf.length, null, onRead);
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
