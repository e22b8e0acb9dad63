// The one table of names of @tunvs/model: schedulers, scheduler flags, methods, protocols.
// Run after `npx tsc -b`: node packages/model/examples/names.mjs
import { METHODS, SCHEDULER_NAMES, Service, Dest, Fwd, methodByName, methodOfLbKind, protocolListing, schedFlagNames, schedFlagBits } from '@tunvs/model';

console.log(SCHEDULER_NAMES.join(' '));                    // rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos
const nat = methodByName('masq');
console.log(nat.listing, nat.ipvsadm, nat.lbKind);         // Masq -m NAT
console.log(methodOfLbKind('DR'), METHODS[Fwd.TUNNEL].listing); // route Tunnel
const bits = schedFlagBits(['sh-fallback', 'sh-port']);
console.log(schedFlagNames('sh', bits), schedFlagNames('rr', bits)); // [ 'sh-fallback', 'sh-port' ] [ 'flag-1', 'flag-2' ]
console.log(protocolListing(6), protocolListing(0));       // TCP IP

// a service of the 2026 kernel with one NAT destination (addresses are uint32 numbers)
const svc = new Service({ protocol: 6, addr: 0x0a000064, port: 80, kernel: '2026' });
svc.insertDest(new Dest(0x0a00010b, 8080, { fwd: Fwd.MASQ, weight: 2 }));
console.log(svc.kernel, svc.dests[0].weight, svc.dests[0].available); // 2026 2 true
