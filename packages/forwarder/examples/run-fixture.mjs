// Run one fixture row through the masquerading forwarder and print what it sent.
// Run after `npx tsc -b`: node packages/forwarder/examples/run-fixture.mjs
import { runFixture, canonicalHex } from '@tunvs/forwarder/testing';
import { MasqForwarder } from '@tunvs/forwarder-nat';
import { packet } from '@tunvs/packet';

const conn = { protocol: 'tcp', client: '192.0.2.10:40000', vip: '198.51.100.1:80', rs: '10.0.0.11:8080' };
const syn = packet().ipv4({ src: '192.0.2.10', dst: '198.51.100.1', ttl: 64 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
const ttl1 = packet().ipv4({ src: '192.0.2.10', dst: '198.51.100.1', ttl: 1 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
const hex = (b) => Buffer.from(b).toString('hex');

for (const input of [syn, ttl1]) {
  const r = runFixture(new MasqForwarder(), { name: 'example', op: 'inbound', input: hex(input), output: [] }, conn);
  console.log(canonicalHex(hex(input)));
  for (const o of r.output) console.log(' ->', o);
  console.log(' counters moved:', Object.entries(r.counters).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(' ') || 'none');
}
