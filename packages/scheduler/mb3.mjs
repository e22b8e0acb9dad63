import { Dest, Service } from '@tunvs/model';
import { overhead, newSchedPacket } from '@tunvs/scheduler';
import { lcScheduler } from '@tunvs/scheduler-lc';
const svc = new Service({});
for (let i = 0; i < 256; i++) { const d = new Dest(i, 80, { weight: 1 + (i % 5) }); d.activeConns = (i * 37) % 200; d.inactConns = (i * 91) % 2000; svc.insertDest(d); }
const lc = lcScheduler.create(svc); const pkt = newSchedPacket();
function inl(svc) { const ds = svc.dests; let least = null, loh = 0; for (let i = 0, n = ds.length; i < n; i++) { const d = ds[i]; if ((d.flags & 2) !== 0 || d.weight === 0) continue; const doh = ((d.activeConns << 8) + d.inactConns) | 0; if (least === null || doh < loh) { least = d; loh = doh; } } return least; }
function viaOH(svc) { const ds = svc.dests; let least = null, loh = 0; for (let i = 0, n = ds.length; i < n; i++) { const d = ds[i]; if ((d.flags & 2) !== 0 || d.weight === 0) continue; const doh = overhead(d); if (least === null || doh < loh) { least = d; loh = doh; } } return least; }
const fns = { inl: () => inl(svc), viaOH: () => viaOH(svc), lc: () => lc.schedule(svc, pkt) };
for (let r = 0; r < 3; r++) for (const [k, f] of Object.entries(fns)) { for (let i = 0; i < 2e4; i++) f(); const t = process.hrtime.bigint(); for (let i = 0; i < 2e5; i++) f(); console.log(k, (2e5 / (Number(process.hrtime.bigint() - t) / 1e9) / 1e6).toFixed(2) + 'M/s'); }
