import t from 'tap';
import { ConnFlag, Dest, DestFlag, DestRegistry, Fwd } from '@tunvs/model';
import {
  ConnTable,
  DestCheck,
  ExpireReason,
  TCP_DEFAULT_TIMEOUTS,
  TCP_STATE_NAMES,
  TcpFlag,
  TcpState,
  editThresholds,
} from '../src/index.js';
import { CLIENT, RS1, RS2, TCP, UDP, VIP, setup } from './helpers.js';

t.test('inbound and outbound lookups (NAT and DR), per protocol', (t) => {
  const { table, nat, dr } = setup();
  const a = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 8080, nat, 0, 0);
  const b = table.create(TCP, CLIENT, 40001, VIP, 80, RS2, 80, dr, 0, 0);
  const hi = table.create(UDP, 0xfffffffe, 65535, 0xf0000001, 65000, RS1, 53, nat, 0, 0);
  t.equal(table.lookupIn(TCP, CLIENT, 40000, VIP, 80), a);
  t.equal(table.lookupIn(TCP, CLIENT, 40001, VIP, 80), b);
  t.equal(table.lookupIn(UDP, CLIENT, 40000, VIP, 80), -1, 'protocol is part of the key');
  t.equal(table.lookupIn(TCP, CLIENT, 40000, VIP, 81), -1);
  t.equal(table.lookupIn(TCP, CLIENT + 1, 40000, VIP, 80), -1);
  t.equal(table.lookupIn(UDP, 0xfffffffe, 65535, 0xf0000001, 65000), hi, 'high addresses and ports');
  t.equal(table.caddr(hi), 0xfffffffe);
  t.equal(table.cport(hi), 65535);
  t.equal(table.vaddr(hi), 0xf0000001);
  t.equal(table.vport(hi), 65000);
  // NAT reply: source is the real server
  t.equal(table.lookupOut(TCP, RS1, 8080, CLIENT, 40000), a);
  t.equal(table.lookupOut(TCP, VIP, 80, CLIENT, 40000), -1, 'NAT replies come from daddr:dport');
  // non-NAT: source is the VIP
  t.equal(table.lookupOut(TCP, VIP, 80, CLIENT, 40001), b);
  t.equal(table.lookupOut(TCP, RS2, 80, CLIENT, 40001), -1);
  t.equal(table.daddr(a), RS1);
  t.equal(table.dport(a), 8080);
  t.equal(table.dest(a), nat);
  t.equal(table.destId(a), nat.id);
  t.equal(table.fwd(a), Fwd.MASQ);
  t.equal(table.fwd(b), Fwd.DROUTE);
  t.equal(table.size, 3);
  t.end();
});

t.test('NO_CPORT entries match client port 0 and are found by the retry', (t) => {
  const { table, nat } = setup();
  t.equal(table.lookupIn(TCP, CLIENT, 5000, VIP, 2121), -1);
  const s = table.create(TCP, CLIENT, 0, VIP, 2121, RS1, 2121, nat, ConnFlag.NO_CPORT, 0);
  t.equal(table.lookupIn(TCP, CLIENT, 0, VIP, 2121), s);
  t.equal(table.lookupIn(TCP, CLIENT, 5000, VIP, 2121), s, 'retry with cport 0');
  table.fillCport(s, 5000);
  t.equal(table.cport(s), 5000);
  t.equal(table.flags(s) & ConnFlag.NO_CPORT, 0);
  t.equal(table.lookupIn(TCP, CLIENT, 5000, VIP, 2121), s);
  t.equal(table.lookupIn(TCP, CLIENT, 5001, VIP, 2121), -1, 'no retry once filled');
  t.equal(table.lookupIn(TCP, CLIENT, 0, VIP, 2121), -1);
  t.end();
});

t.test('expiry of every TCP state after its timeout (fake clock)', (t) => {
  for (let st = 0; st < TCP_STATE_NAMES.length; st++) {
    const { table, nat } = setup();
    const s = table.create(TCP, CLIENT, 1000 + st, VIP, 80, RS1, 80, nat, 0, 0);
    table.setState(s, st, 1000);
    const to = TCP_DEFAULT_TIMEOUTS[st]! * 1000;
    t.equal(table.tick(1000 + to - 1), 0, `${TCP_STATE_NAMES[st]} alive 1 ms before`);
    t.equal(table.lookupIn(TCP, CLIENT, 1000 + st, VIP, 80), s);
    t.equal(table.tick(1000 + to), 1, `${TCP_STATE_NAMES[st]} expires after ${to / 1000} s`);
    t.equal(table.lookupIn(TCP, CLIENT, 1000 + st, VIP, 80), -1);
    t.equal(table.size, 0);
    t.equal(nat.activeConns + nat.inactConns, 0);
    t.equal(nat.refCount, 0);
  }
  t.end();
});

t.test('UDP expires after 300 s; new entries after 3 s; each packet restarts the timer', (t) => {
  const { table, nat } = setup();
  const u = table.create(UDP, CLIENT, 1, VIP, 53, RS1, 53, nat, 0, 0);
  const fresh = table.create(TCP, CLIENT, 2, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(u, false, 0, 0);
  t.equal(table.tick(2999), 0);
  t.equal(table.tick(3000), 1, 'the never-transitioned entry goes after 3 s');
  t.notOk(table.isLive(fresh));
  table.packet(u, true, 0, 200_000);
  t.equal(table.tick(499_999), 0, 'restarted by the reply at 200 s');
  t.equal(table.remainingMs(u, 499_999), 1);
  t.equal(table.tick(500_000), 1);
  t.equal(table.size, 0);
  t.end();
});

t.test('a shortened timeout takes effect (ESTABLISHED -> CLOSE)', (t) => {
  const { table, nat } = setup();
  const s = table.create(TCP, CLIENT, 1, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(s, false, TcpFlag.ACK, 0);
  table.tick(5000);
  table.packet(s, false, TcpFlag.RST, 5000);
  t.equal(table.state(s), TcpState.CLOSE);
  t.equal(table.tick(14_999), 0);
  t.equal(table.tick(15_000), 1);
  t.end();
});

t.test('big clock jumps and many ticks', (t) => {
  const { table, nat } = setup({ wheelSlots: 16, tickMs: 10 });
  const a = table.create(TCP, CLIENT, 1, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(a, false, TcpFlag.ACK, 0); // 900 s
  const b = table.create(UDP, CLIENT, 2, VIP, 53, RS1, 53, nat, 0, 0);
  table.packet(b, false, 0, 0); // 300 s
  let removed = 0;
  for (let now = 0; now < 300_000; now += 997) removed += table.tick(now);
  t.equal(removed, 0);
  t.equal(table.tick(300_000), 1, 'udp gone at 300 s');
  t.equal(table.tick(899_999), 0);
  t.equal(table.tick(3_600_000), 1, 'a jump far past the expiry');
  t.equal(table.size, 0);
  t.end();
});

t.test('clock starting at Date.now() magnitudes', (t) => {
  const { table, nat } = setup();
  const base = 1_763_000_000_000;
  const s = table.create(UDP, CLIENT, 1, VIP, 53, RS1, 53, nat, 0, base);
  table.packet(s, false, 0, base);
  t.equal(table.tick(base + 299_999), 0);
  t.equal([...table.entries(base + 299_000)][0]!.expires, 1);
  t.equal(table.tick(base + 300_000), 1);
  t.end();
});

t.test('templates: key, persistConns, outliving connections, 60 s re-arm', (t) => {
  const { table, nat } = setup();
  const snet = CLIENT & 0xffffff00;
  const tpl = table.createTemplate(TCP, snet, VIP, 80, RS1, 80, nat, 360, 0);
  t.equal(nat.persistConns, 1);
  t.equal(nat.activeConns + nat.inactConns, 0, 'templates are not connections');
  t.equal(table.lookupTemplate(TCP, snet, VIP, 80), tpl);
  t.equal(table.lookupTemplate(TCP, snet, VIP, 81), -1);
  t.equal(table.lookupTemplate(UDP, snet, VIP, 80), -1);
  t.equal(table.lookupIn(TCP, snet, 0, VIP, 80), -1, 'templates never match connection lookups');
  t.equal(table.lookupOut(TCP, VIP, 80, snet, 0), -1);
  t.equal(table.stateName(tpl), 'NONE');

  // a connection created from it at 100 s restarts its timer
  const c = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 80, nat, 0, 100_000, tpl);
  t.equal(table.control(c), tpl);
  t.equal(table.nControl(tpl), 1);
  table.packet(c, false, TcpFlag.SYN, 100_000);
  t.equal(table.stateName(tpl), 'NONE');
  table.packet(c, false, TcpFlag.ACK, 100_000);
  t.equal(table.stateName(tpl), 'ASSURED', 'ESTABLISHED child assures the template');
  // keep the child alive past the template's 360 s
  table.packet(c, false, TcpFlag.ACK, 410_000);
  t.equal(table.tick(460_000), 0, 'template timer fired (at 460 s) but a child lives');
  t.ok(table.isLive(tpl));
  t.equal(table.timeout(tpl), 60_000, 'timeout replaced by 60 s');
  t.equal(table.counters.rearmed, 1);
  t.equal(table.tick(519_999), 0);
  t.equal(table.tick(520_000), 0, 're-armed again (child still there)');
  t.equal(table.counters.rearmed, 2);
  // the child expires at 410 + 900 s (the template's 60 s steps fall on 1300 and 1360 s)
  let n = 0;
  for (let now = 521_000; now < 1_310_000; now += 1000) n += table.tick(now); // a running clock
  t.equal(n, 0);
  t.equal(table.tick(1_310_000), 1);
  t.equal(table.nControl(tpl), 0);
  t.ok(table.isLive(tpl), 'template outlives its connection');
  t.equal(table.remainingMs(tpl, 1_310_000), 50_000, 'the running 60 s step');
  t.equal(table.tick(1_359_999), 0);
  t.equal(table.tick(1_360_000), 1, 'then the template goes');
  t.equal(nat.persistConns, 0);
  t.equal(nat.refCount, 0);
  t.equal(table.size, 0);
  t.end();
});

t.test('n_control beyond 65535 children (the rest counted aside) and the real server port in the same word', (t) => {
  const N = 65_540;
  const { table, nat } = setup({ capacity: N + 8 });
  const tpl = table.createTemplate(TCP, 0, VIP, 0, RS1, 0xfffe, nat, 360, 0);
  const kids: number[] = [];
  for (let i = 0; i < N; i++) {
    const c = table.create(TCP, 0x0b000000 + i, 1024 + (i & 0x3fff), VIP, 80, RS1, 0x8000 + (i & 0x7fff), nat, 0, 1000, tpl);
    if (c < 0) throw new Error(`create ${i} failed`);
    kids.push(c);
  }
  t.equal(table.nControl(tpl), N, 'every child counted');
  t.equal(table.dport(tpl), 0xfffe, "the template's port is untouched by its count");
  t.equal(table.dport(kids[70]!), 0x8000 + 70, "a child's port (bit 15 set) reads back");
  t.equal(table.lookupOut(TCP, RS1, 0x8000 + 70, 0x0b000000 + 70, 1024 + 70), kids[70], 'reply lookup by the real server port');
  // the template cannot go while children live, at 65535 and beyond
  for (let i = 0; i < 10; i++) table.expire(kids.pop()!, 2000);
  t.equal(table.nControl(tpl), N - 10);
  t.notOk(table.expire(tpl, 2000), 'template with children is re-armed, not removed');
  t.ok(table.isLive(tpl));
  while (kids.length > 0) table.expire(kids.pop()!, 3000);
  t.equal(table.nControl(tpl), 0);
  t.equal(table.dport(tpl), 0xfffe);
  t.ok(table.expire(tpl, 3000), 'the last child gone, the template can go');
  t.equal(table.size, 0);
  t.end();
});

t.test('template expires persistence timeout after the last new connection', (t) => {
  const { table, nat } = setup();
  const tpl = table.createTemplate(UDP, CLIENT, VIP, 53, RS1, 53, nat, 100, 0);
  const c = table.create(UDP, CLIENT, 1, VIP, 53, RS1, 53, nat, 0, 50_000, tpl);
  table.packet(c, true, 0, 50_000);
  t.equal(table.stateName(tpl), 'ASSURED', 'UDP reply assures');
  table.expire(c, 60_000);
  t.equal(table.nControl(tpl), 0);
  t.equal(table.tick(149_999), 0);
  t.equal(table.tick(150_000), 1);
  t.end();
});

t.test('fwmark templates (protocol 0, mark as address) in the listing', (t) => {
  const { table, dr } = setup();
  const tpl = table.createTemplate(0, 0xc0a80100, 1, 0, RS2, 0, dr, 300, 0);
  t.equal(table.lookupTemplate(0, 0xc0a80100, 1, 0), tpl);
  const [e] = [...table.entries(3000)];
  t.match(e, {
    protocol: 0,
    protocolName: 'IP',
    state: 'NONE',
    expires: 297,
    caddr: 0xc0a80100,
    cport: 0,
    vaddr: 1,
    vport: 0,
    daddr: RS2,
    dport: 0,
    template: true,
    fwmark: 1,
  });
  t.end();
});

t.test('template validity: removed destination, quiescent with expire_quiescent_template', (t) => {
  const { table, nat, dr } = setup();
  const tpl = table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, nat, 360, 0);
  nat.weight = 0;
  t.equal(table.lookupTemplate(TCP, CLIENT, VIP, 80), tpl, 'quiescent: still valid by default');
  table.options.expireQuiescentTemplate = true;
  t.equal(table.lookupTemplate(TCP, CLIENT, VIP, 80), -1, 'invalid with expire_quiescent_template');
  t.equal(table.vport(tpl), 0xffff);
  t.equal(table.dport(tpl), 0xffff);
  t.equal(table.counters.templatesInvalidated, 1);
  t.ok(table.isLive(tpl), 'left to expire on its own');
  t.equal(table.findTemplate(TCP, CLIENT, VIP, 80), -1, 'never matches again');
  const tpl2 = table.createTemplate(TCP, CLIENT, VIP, 80, RS2, 80, dr, 360, 0);
  t.equal(table.lookupTemplate(TCP, CLIENT, VIP, 80), tpl2);
  dr.flags &= ~DestFlag.AVAILABLE;
  table.options.expireQuiescentTemplate = false;
  t.equal(table.lookupTemplate(TCP, CLIENT, VIP, 80), -1, 'destination removed');
  t.equal(table.tick(360_000), 2);
  t.equal(nat.persistConns + dr.persistConns, 0);
  t.end();
});

t.test('conn_reuse_mode (3.7)', (t) => {
  const { table, nat, dr } = setup();
  const mk = (port: number, dest: Dest, state: number): number => {
    const s = table.create(TCP, CLIENT, port, VIP, 80, dest.addr, 80, dest, 0, 0);
    table.setState(s, state, 0);
    return s;
  };
  for (const st of [TcpState.TIME_WAIT, TcpState.CLOSE]) {
    const s = mk(100 + st, nat, st);
    t.equal(table.reuse(s, 10), true, `${TCP_STATE_NAMES[st]}: reschedule`);
    t.notOk(table.isLive(s), 'old entry expired');
  }
  for (const st of [TcpState.ESTABLISHED, TcpState.SYN_RECV, TcpState.FIN_WAIT, TcpState.CLOSE_WAIT]) {
    const s = mk(200 + st, nat, st);
    t.equal(table.reuse(s, 10), false, `${TCP_STATE_NAMES[st]}: keep`);
    t.ok(table.isLive(s));
  }
  // FIN_WAIT with NOOUTPUT only with mode bit 2
  const f = mk(300, dr, TcpState.FIN_WAIT);
  t.equal(table.reuse(f, 10), false);
  table.options.connReuseMode = 3;
  t.equal(table.reuse(f, 10), true, 'mode 2: FIN_WAIT without replies');
  const fn = mk(301, nat, TcpState.FIN_WAIT);
  t.equal(table.reuse(fn, 10), false, 'NAT FIN_WAIT (replies seen) is kept');
  // controlled connections are never reused
  const tpl = table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, nat, 360, 0);
  const c = table.create(TCP, CLIENT, 302, VIP, 80, RS1, 80, nat, 0, 0, tpl);
  table.setState(c, TcpState.TIME_WAIT, 0);
  t.equal(table.reuse(c, 10), false, 'persistent child kept');
  // mode 0 disables the state rules, not expire_nodest_conn's weight-0 branch (the kernel's
  // since its fix of reuse with weight-0 servers)
  table.options.connReuseMode = 0;
  const z = mk(303, nat, TcpState.TIME_WAIT);
  t.equal(table.reuse(z, 10), false);
  table.options.expireNodestConn = true;
  nat.weight = 0;
  const z0 = mk(305, nat, TcpState.ESTABLISHED);
  t.equal(table.reuse(z0, 10), true, 'mode 0: expire_nodest_conn + weight 0 still reschedules');
  table.options.connReuseMode = 1;
  const e = mk(304, nat, TcpState.ESTABLISHED);
  t.equal(table.reuse(e, 10), true, 'expire_nodest_conn + weight 0 reschedules');
  t.notOk(table.isLive(e));
  // a controlled entry is kept in that branch too
  const tpl2 = table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, nat, 360, 0);
  const c2 = table.create(TCP, CLIENT, 306, VIP, 80, RS1, 80, nat, 0, 0, tpl2);
  t.equal(table.reuse(c2, 10), false, 'persistent child kept at weight 0');
  t.ok(table.counters.reused >= 5);
  t.end();
});

t.test('checkDest and expireNodest (3.8)', (t) => {
  const { table, nat, dr } = setup();
  const a = table.create(TCP, CLIENT, 1, VIP, 80, RS1, 80, nat, 0, 0);
  const b = table.create(TCP, CLIENT, 2, VIP, 80, RS2, 80, dr, 0, 0);
  t.equal(table.checkDest(a, 0), DestCheck.OK);
  nat.flags &= ~DestFlag.AVAILABLE;
  t.equal(table.checkDest(a, 0), DestCheck.DROP, 'dropped, entry kept');
  t.ok(table.isLive(a));
  table.options.expireNodestConn = true;
  t.equal(table.checkDest(a, 0), DestCheck.EXPIRED);
  t.notOk(table.isLive(a));
  dr.flags &= ~DestFlag.AVAILABLE;
  const tpl = table.createTemplate(TCP, CLIENT, VIP, 80, RS2, 80, dr, 360, 0);
  const c = table.create(TCP, CLIENT, 3, VIP, 80, RS2, 80, dr, 0, 0, tpl);
  t.equal(table.expireNodest(0), 3, 'b, c and its template (no children left)');
  t.notOk(table.isLive(b));
  t.notOk(table.isLive(c));
  t.equal(table.size, 0);
  t.equal(dr.refCount, 0);
  t.end();
});

t.test('full table: refused and counted, nothing evicted', (t) => {
  const { table, nat } = setup({ capacity: 4 });
  const slots = [];
  for (let i = 0; i < 4; i++) {
    const s = table.create(TCP, CLIENT, 10 + i, VIP, 80, RS1, 80, nat, 0, 0);
    table.packet(s, false, TcpFlag.SYN, 0);
    slots.push(s);
  }
  t.equal(table.create(TCP, CLIENT, 99, VIP, 80, RS1, 80, nat, 0, 0), -1);
  t.equal(table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, nat, 360, 0), -1);
  t.equal(table.counters.refused, 2);
  t.equal(table.size, 4);
  for (let i = 0; i < 4; i++) t.equal(table.lookupIn(TCP, CLIENT, 10 + i, VIP, 80), slots[i]);
  t.equal(nat.activeConns, 4);
  table.expire(slots[0]!, 0);
  t.ok(table.create(TCP, CLIENT, 99, VIP, 80, RS1, 80, nat, 0, 0) >= 0, 'room again');
  t.end();
});

t.test('OVERLOAD thresholds, classic (1.5)', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ, uThreshold: 4, lThreshold: 0 });
  const table = new ConnTable({ capacity: 32, registry, seed: 3 });
  const s: number[] = [];
  for (let i = 0; i < 3; i++) s.push(table.create(TCP, CLIENT, i + 1, VIP, 80, RS1, 80, d, 0, 0));
  t.notOk(d.overloaded);
  s.push(table.create(TCP, CLIENT, 4, VIP, 80, RS1, 80, d, 0, 0));
  t.ok(d.overloaded, 'set when conns reach u');
  const tpl = table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, d, 60, 0);
  t.equal(d.persistConns, 1);
  t.ok(d.overloaded);
  table.expire(s.pop()!, 0); // 3 left: 12 < 12 is false
  t.ok(d.overloaded, 'still set at 3 (3*4 >= 4*3)');
  table.expire(s.pop()!, 0); // 2 left: 8 < 12
  t.notOk(d.overloaded, 'cleared below 3/4 u');
  // with a lower threshold
  d.lThreshold = 2;
  s.push(table.create(TCP, CLIENT, 5, VIP, 80, RS1, 80, d, 0, 0));
  s.push(table.create(TCP, CLIENT, 6, VIP, 80, RS1, 80, d, 0, 0));
  t.ok(d.overloaded);
  table.expire(s.pop()!, 0);
  t.ok(d.overloaded, '3 is not < 2');
  table.expire(s.pop()!, 0);
  t.ok(d.overloaded, '2 is not < 2');
  table.expire(s.pop()!, 0);
  t.notOk(d.overloaded, '1 < 2');
  // no thresholds: any unbind clears, also a template's
  d.flags |= DestFlag.OVERLOAD;
  editThresholds(d, 0, 0);
  t.notOk(d.overloaded, 'edit to u = 0 clears');
  d.flags |= DestFlag.OVERLOAD;
  table.expire(tpl, 0);
  t.notOk(d.overloaded, 'template unbind re-evaluates');
  // edits never set it
  editThresholds(d, 1, 0);
  t.notOk(d.overloaded);
  t.end();
});

t.test('OVERLOAD thresholds, 2026 rules', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ, uThreshold: 4 });
  const table = new ConnTable({ capacity: 32, registry, seed: 3, options: { kernel: '2026' } });
  const s: number[] = [];
  for (let i = 0; i < 4; i++) s.push(table.create(TCP, CLIENT, i + 1, VIP, 80, RS1, 80, d, 0, 0));
  t.ok(d.overloaded, 'set on reaching exactly u');
  d.flags &= ~DestFlag.OVERLOAD;
  s.push(table.create(TCP, CLIENT, 9, VIP, 80, RS1, 80, d, 0, 0));
  t.notOk(d.overloaded, 'not set again above u (only when reaching exactly u)');
  d.flags |= DestFlag.OVERLOAD;
  table.expire(s.pop()!, 0); // 4
  table.expire(s.pop()!, 0); // 3 = L
  t.ok(d.overloaded, 'L = 3 keeps it');
  table.expire(s.pop()!, 0); // 2 = L - 1
  t.notOk(d.overloaded, 'cleared from L to L-1');
  editThresholds(d, 2, 0, '2026');
  t.ok(d.overloaded, 'threshold edit re-evaluates and sets');
  editThresholds(d, 0, 0, '2026');
  t.notOk(d.overloaded);
  t.end();
});

t.test('drop_entry defence (3.10), seeded', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  const table = new ConnTable({ capacity: 1024, buckets: 32, registry, seed: 7, options: { dropEntry: 3 } });
  const est: number[] = [];
  const synRecv: number[] = [];
  for (let i = 0; i < 100; i++) {
    const s = table.create(TCP, CLIENT, 1000 + i, VIP, 80, RS1, 80, d, 0, 0);
    table.packet(s, false, TcpFlag.SYN, 0);
    synRecv.push(s);
  }
  for (let i = 0; i < 100; i++) {
    const s = table.create(TCP, CLIENT + 1, 1000 + i, VIP, 80, RS1, 80, d, 0, 0);
    table.packet(s, false, TcpFlag.SYN, 0);
    table.packet(s, false, TcpFlag.ACK, 0);
    est.push(s);
  }
  // SYN_RECV entries are always candidates; fresh ESTABLISHED ones are not (< 60 s idle)
  let dropped = 0;
  for (let i = 0; i < 40; i++) dropped += table.randomDropEntry(1000);
  t.ok(dropped > 0, `dropped ${dropped}`);
  t.ok(synRecv.some((s) => !table.isLive(s)));
  t.ok(est.every((s) => table.isLive(s)), 'established flows kept');
  t.equal(table.counters.dropped, dropped);
  // after 60 s idle, ESTABLISHED with 1..8 input packets become candidates (rate-limited)
  let later = 0;
  for (let i = 0; i < 40; i++) later += table.randomDropEntry(61_000);
  t.ok(est.some((s) => !table.isLive(s)), 'idle established entries dropped');
  t.ok(est.some((s) => table.isLive(s)), 'but not all at once');
  t.equal(d.activeConns + d.inactConns, table.size);
  // same seed, same decisions
  const again = new ConnTable({ capacity: 1024, buckets: 32, registry, seed: 7, options: { dropEntry: 3 } });
  const d2 = new Dest(RS2, 80, { fwd: Fwd.MASQ });
  for (let i = 0; i < 100; i++) {
    const s = again.create(TCP, CLIENT, 1000 + i, VIP, 80, RS2, 80, d2, 0, 0);
    again.packet(s, false, TcpFlag.SYN, 0);
  }
  t.ok(again.randomDropEntry(0) >= 0);
  void later;
  t.end();
});

t.test('drop_entry automatic mode follows available pages; runs from tick once a second', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  const table = new ConnTable({ capacity: 4096, registry, seed: 11, options: { dropEntry: 1, amemthresh: 8 } });
  t.ok(table.availablePages() >= 8, 'an empty table has room');
  t.equal(table.options.dropEntry, 1);
  for (let i = 0; i < 3900; i++) {
    const s = table.create(TCP, CLIENT + (i >>> 10), 1000 + (i & 1023), VIP, 80, RS1, 80, d, 0, 0);
    table.packet(s, false, TcpFlag.SYN, 0);
  }
  t.ok(table.availablePages() < 8, `${table.availablePages()} pages left`);
  t.equal(table.tick(0), table.counters.dropped, 'the first tick already scans');
  t.equal(table.options.dropEntry, 2, 'switched on below amemthresh');
  t.ok(table.defenseLevel.dropEntry);
  for (let now = 1000; now <= 30_000; now += 1000) table.tick(now);
  t.ok(table.counters.dropped > 0);
  t.ok(table.availablePages() >= 8, 'room again');
  t.equal(table.options.dropEntry, 1, 'back to automatic-off with room again');
  t.notOk(table.defenseLevel.dropEntry);
  const before = table.counters.dropped;
  for (let now = 31_000; now <= 40_000; now += 1000) table.tick(now);
  t.equal(table.counters.dropped, before, 'no scans while armed but off');
  t.end();
});

t.test('dropped child takes its unassured template along', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  const table = new ConnTable({ capacity: 16, buckets: 16, registry, seed: 5 });
  const tpl = table.createTemplate(TCP, CLIENT, VIP, 80, RS1, 80, d, 360, 0);
  const c = table.create(TCP, CLIENT, 7, VIP, 80, RS1, 80, d, 0, 0, tpl);
  table.packet(c, false, TcpFlag.SYN, 0);
  let n = 0;
  for (let i = 0; i < 200 && table.size > 0; i++) n += table.randomDropEntry(0);
  t.equal(n, 2);
  t.equal(table.size, 0);
  t.equal(d.persistConns + d.activeConns + d.inactConns, 0);
  t.end();
});

t.test('hooks: created, stateChanged, expired (with reason)', (t) => {
  const { table, nat } = setup();
  const log: string[] = [];
  table.setHooks({
    created: (s) => log.push(`new ${s}`),
    stateChanged: (s, prev) => log.push(`state ${s} ${prev}->${table.state(s)}`),
    expired: (s, why) => log.push(`exp ${s} ${why} ${table.cport(s)}`),
  });
  const s = table.create(TCP, CLIENT, 77, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(s, false, TcpFlag.SYN, 0);
  table.packet(s, false, TcpFlag.SYN, 0);
  table.packet(s, false, TcpFlag.ACK, 0);
  table.packet(s, false, TcpFlag.RST, 0);
  table.tick(10_000);
  const u = table.create(UDP, CLIENT, 78, VIP, 53, RS1, 53, nat, 0, 20_000);
  table.expire(u, 20_000);
  t.same(log, [
    `new ${s}`,
    `state ${s} 0->3`,
    `state ${s} 3->1`,
    `state ${s} 1->6`,
    `exp ${s} ${ExpireReason.TIMEOUT} 77`,
    `new ${u}`,
    `exp ${u} ${ExpireReason.FORCED} 78`,
  ]);
  t.end();
});

t.test('listing: state names, truncated seconds, addresses as numbers', (t) => {
  const { table, nat, dr } = setup();
  const a = table.create(TCP, CLIENT, 51234, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(a, false, TcpFlag.ACK, 0);
  const b = table.create(UDP, CLIENT, 40000, VIP, 53, RS2, 53, dr, 0, 0);
  table.packet(b, false, 0, 0);
  const list = [...table.entries(1500)];
  t.equal(list.length, 2);
  const ea = list.find((e) => e.slot === a)!;
  t.match(ea, { protocolName: 'TCP', state: 'ESTABLISHED', expires: 898, caddr: CLIENT, cport: 51234, vaddr: VIP, vport: 80, daddr: RS1, dport: 80, template: false, fwmark: 0 });
  const eb = list.find((e) => e.slot === b)!;
  t.match(eb, { protocolName: 'UDP', state: 'UDP', expires: 298, daddr: RS2 });
  t.ok(eb.flags & ConnFlag.NOOUTPUT);
  t.end();
});

t.test('sync-created connections keep their activity bit', (t) => {
  const { table, nat } = setup();
  const s = table.create(TCP, CLIENT, 1, VIP, 80, RS1, 80, nat, ConnFlag.SYNC, 0);
  t.equal(nat.activeConns, 1, 'SYNC without INACTIVE counts as active');
  const s2 = table.create(TCP, CLIENT, 2, VIP, 80, RS1, 80, nat, ConnFlag.SYNC | ConnFlag.INACTIVE, 0);
  t.equal(nat.inactConns, 1);
  t.ok(table.flags(s) & ConnFlag.SYNC);
  void s2;
  t.end();
});

t.test('memory per entry is a tracked figure under 64 bytes', (t) => {
  const registry = new DestRegistry();
  const table = new ConnTable({ capacity: 1 << 16, registry, seed: 1 });
  t.ok(table.bytesPerEntry <= 64, `${table.bytesPerEntry} bytes/entry`);
  t.end();
});

t.test('the DEST word: destination id and the bound forwarder; reply rules per method', (t) => {
  const { table, registry } = setup();
  const local = new Dest(RS1, 8080, { fwd: Fwd.LOCALNODE });
  const tun = new Dest(RS2, 80, { fwd: Fwd.TUNNEL });
  tun.xmit = 9; // a tunnel forwarder of another encapsulation, bound by the engine
  registry.register(local);
  registry.register(tun);
  const a = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 8080, local, 0, 0);
  const b = table.create(TCP, CLIENT, 40001, VIP, 80, RS2, 80, tun, 0, 0);
  const c = table.create(UDP, CLIENT, 40002, VIP, 53, 0, 0, null, Fwd.BYPASS, 0);
  t.equal(table.xmit(a), Fwd.LOCALNODE, 'the method\'s own forwarder by default');
  t.equal(table.xmit(b), 9, 'the destination\'s bound forwarder');
  t.equal(table.xmit(c), Fwd.BYPASS, 'no destination: the method in the flags');
  t.equal(table.destId(a), local.id);
  t.equal(table.destId(c), -1);
  t.equal(table.dest(c), null);
  // local replies come from the local service (daddr:dport), like NAT's
  t.equal(table.lookupOut(TCP, RS1, 8080, CLIENT, 40000), a);
  t.equal(table.flags(a) & ConnFlag.NOOUTPUT, 0, 'local sees its replies');
  t.equal(table.flags(b) & ConnFlag.NOOUTPUT, ConnFlag.NOOUTPUT, 'tunnel replies bypass the director');
  t.equal(table.lookupOut(TCP, VIP, 80, CLIENT, 40001), b);
  t.end();
});
