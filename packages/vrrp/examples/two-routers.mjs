// Two VRRP routers on a fake segment and a fake clock: a (priority 150) becomes master, crashes,
// b takes over after its master-down interval. Run: node packages/vrrp/examples/two-routers.mjs
import { VrrpRouter, buildAdvert } from '@tunvs/vrrp';
import { parseIpv4 } from '@tunvs/packet';

const S = 1_000_000; // the clock is in microseconds
const spec = (priority) => ({
  name: 'VI_1', vrid: 51, version: 3, priority, adverIntUs: 1 * S, wantMaster: false,
  nopreempt: false, preemptDelayUs: 0, downTimerAdverts: 3, authType: 0, authData: new Uint8Array(8),
  vips: [parseIpv4('10.99.0.100')], unicastPeers: [], checkUnicastSrc: false, v3ChecksumAsV2: false,
  skipCheckAdvAddr: false, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, notifyPriorityChanges: false,
  garp: { masterDelayUs: 5 * S, masterRepeat: 5, masterRefreshUs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayUs: 0 },
});

// two routers on one fake segment: an advert one sends reaches the other (unless it is down)
let now = 0;
const routers = {};
const up = { a: true, b: true };
for (const [name, prio, src] of [['a', 150, '10.99.0.1'], ['b', 100, '10.99.0.2']]) {
  const io = {
    sendAdvert: (inst, prio) => {
      for (const { datagram } of buildAdvert(inst.spec, prio, inst.srcAddr, inst.nextIpId())) {
        for (const [other, r] of Object.entries(routers)) if (other !== name && up[other]) r.receive(datagram, 0, datagram.length, now);
      }
    },
    setAddresses: (inst, on) => console.log(`${(now / S).toFixed(3)} s  ${name}: VIPs ${on ? 'added' : 'removed'}`),
    garp: () => {},
    notify: () => {},
    transition: (ev) => console.log(`${(now / S).toFixed(3)} s  ${name}: ${ev.from} -> ${ev.to} (${ev.reason})`),
    log: () => {},
  };
  routers[name] = new VrrpRouter([spec(prio)], [], io);
  routers[name].get('VI_1').srcAddr = parseIpv4(src);
}
routers.a.start(now);
routers.b.start(now);
const runUntil = (end) => {
  for (;;) {
    const next = Math.min(...Object.entries(routers).filter(([n]) => up[n]).map(([, r]) => r.nextDeadline()));
    if (next > end) break;
    now = next;
    for (const [n, r] of Object.entries(routers)) if (up[n]) r.tick(now);
  }
  now = end;
};
runUntil(10 * S);
up.a = false; // a crashes: no priority-0 advert
console.log(`${(now / S).toFixed(3)} s  a: crashed`);
runUntil(15 * S);
