// The GUE and GRE fixture table (encap-fixtures.ts): every input frame gives exactly the
// expected frames and counters, and every frame sent parses with its checksums right. The
// encapsulation is chosen from the connection's destination, as the kernel does per packet.
import t from 'tap';
import { canonicalHex, runFixture, testFixtureTable } from '@tunvs/forwarder/testing';
import { GUE_SPORT_MAX, GUE_SPORT_MIN, TunnelForwarder, encapOf, gueSourcePort } from '../src/index.js';
import { FrameInfo } from '@tunvs/packet';
import { TUNNEL_CONN } from './fixtures.js';
import { ENCAP_FIXTURES } from './encap-fixtures.js';

// the forwarder the engine binds (IPIP by default) follows the destination's settings
testFixtureTable(t, () => new TunnelForwarder(), ENCAP_FIXTURES, (f) => ({ ...TUNNEL_CONN, tunnel: f.tunnel }));

t.test('GUE source ports stay in the local port range and spread over it', (t) => {
  const info = new FrameInfo();
  info.proto = 6;
  info.src = 0xc000020a;
  info.dst = 0xc6336401;
  info.dstPort = 80;
  const seen = new Set<number>();
  for (let p = 1024; p < 3024; p++) {
    info.srcPort = p;
    const s = gueSourcePort(info);
    if (s < GUE_SPORT_MIN || s >= GUE_SPORT_MAX) t.fail(`port ${s} out of range`);
    seen.add(s);
  }
  t.ok(seen.size > 1900, `2000 flows give ${seen.size} distinct source ports`);
  t.end();
});

t.test('the encapsulation follows an edit of the destination: the same connection switches from GRE to GUE', (t) => {
  const f = ENCAP_FIXTURES[5]!;
  const g = ENCAP_FIXTURES[0]!;
  t.equal(f.tunnel.type, 2);
  t.equal(g.tunnel.type, 1);
  const fwd = new TunnelForwarder(encapOf(2, 0, 0));
  t.same(runFixture(fwd, f, { ...TUNNEL_CONN, tunnel: f.tunnel }).output, f.output.map(canonicalHex), 'GRE while the destination is GRE');
  t.same(runFixture(fwd, g, { ...TUNNEL_CONN, tunnel: g.tunnel }).output, g.output.map(canonicalHex), 'GUE once it is GUE');
  t.equal(encapOf(1, 6080, 0), encapOf(1, 6080, 0), 'one encapsulation object per setting');
  t.end();
});
