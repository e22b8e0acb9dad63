// A complete tunvs director as a library: NAT over a TUN device.
// Run as root inside the director's network namespace, e.g. after `scripts/lab up --method nat`:
//   ip netns exec lvs-dir node packages/engine/examples/embed-tun.mjs
import { Director, tuneJit } from '@tunvs/engine';
import { openTun } from '@tunvs/tuntap';

tuneJit();                                               // V8's inlining budgets for the per-packet path, as tunvsd

const dev = openTun({ name: 'tunvs0' });                 // opens (or creates) the device
const director = new Director({ links: dev.queues, sourceAddress: '10.10.1.1' });
const vs = { protocol: 'tcp', addr: '10.10.0.100', port: 80 };
director.addService({ ...vs, scheduler: 'wlc' });
for (const [addr, weight] of [['10.10.1.11', 1], ['10.10.1.12', 2], ['10.10.1.13', 3]]) {
  director.addDest(vs, { addr, port: 80, method: 'masq', weight });
}
director.start();

// every 2 s, print the service's counters (the kernel estimator's rates)
setInterval(() => {
  const [svc] = director.listServices();
  console.log(svc.dests.map((d) => `${d.addr} active=${d.activeConns} inact=${d.inactConns} conns=${d.stats.conns}`).join(' | '));
}, 2000).unref();
process.on('SIGINT', () => { director.stop(); process.exit(0); });
