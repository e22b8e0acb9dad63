// A packet that may open a connection hitting an existing entry (the kernel's ip_vs_in:
// is_new_conn, then expire_nodest_conn's weight-0 rule or conn_reuse_mode's state rules),
// on the in-memory link: what counts as such a packet (a TCP segment with SYN set whatever
// its other flags; an SCTP INIT), conn_reuse_mode 0 leaving expire_nodest_conn's weight-0
// rescheduling on, and a controlled entry (persistence child) never rescheduled.
import t from 'tap';
import { packet } from '@tunvs/packet';
import { TcpState } from '@tunvs/conntrack';
import { tunDirector, ip, VIP, CLIENT, RS } from './helpers.js';

type Setup = ReturnType<typeof tunDirector>;

/** rr over RS[0], RS[1] on VIP:80 (persistent when `persistent`), NAT. */
function nat(o: { reuseMode?: number; nodest?: boolean; persistent?: number } = {}): Setup {
  const s = tunDirector();
  s.d.conns.options.connReuseMode = o.reuseMode ?? 1;
  s.d.conns.options.expireNodestConn = o.nodest ?? false;
  s.d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr', ...(o.persistent ? { persistent: o.persistent } : {}) });
  for (const rs of [RS[0]!, RS[1]!]) s.d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: rs, port: 80, method: 'masq' });
  return s;
}

const seg = (flags: string, sport = 40000): Uint8Array => packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport, dport: 80, flags }).build();

/** Send one segment; the real server it went to ('' when none went out). */
function send(s: Setup, flags: string, sport = 40000): string {
  s.link.receive(seg(flags, sport));
  const out = s.link.drain();
  return out.length === 0 ? '' : ip(out[0]!).dst;
}

/** The client's connection entry for `sport` that is not a template. */
function conn(s: Setup, sport = 40000): { slot: number; daddr: number } {
  const e = [...s.d.conns.entries(s.clock.now)].find((x) => !x.template && x.cport === sport);
  if (!e) throw new Error('no connection');
  return e;
}

const other = (rs: string): string => (rs === RS[0] ? RS[1]! : RS[0]!);

t.test('a SYN with ACK, or with RST, is a new-connection packet too (TCP: the SYN bit alone decides)', (t) => {
  // SYN+ACK on TIME_WAIT: rescheduled (it may open a connection: tcp_conn_schedule takes it)
  const a = nat();
  const first = send(a, 'S');
  a.d.conns.setState(conn(a).slot, TcpState.TIME_WAIT, a.clock.now);
  t.equal(send(a, 'SA'), other(first), 'SYN+ACK on a TIME_WAIT entry: the old entry expired, scheduled anew (rr: the other server)');
  t.equal(a.d.conns.counters.reused, 1, 'counted as a port reuse');

  // SYN+RST on TIME_WAIT: the old entry expires; a RST never opens one: nothing forwarded
  const b = nat();
  send(b, 'S');
  b.d.conns.setState(conn(b).slot, TcpState.TIME_WAIT, b.clock.now);
  const before = b.d.counters.notSyn;
  t.equal(send(b, 'SR'), '', 'SYN+RST on a TIME_WAIT entry: not forwarded');
  t.equal(b.d.counters.notSyn, before + 1, 'refused as not a SYN (RST)');
  t.equal(b.d.conns.size, 0, 'the TIME_WAIT entry is gone');

  // on an ESTABLISHED entry a SYN+ACK stays on it (no state rule matches)
  const c = nat();
  const rs = send(c, 'S');
  c.d.conns.setState(conn(c).slot, TcpState.ESTABLISHED, c.clock.now);
  t.equal(send(c, 'SA'), rs, 'ESTABLISHED: same server');
  t.equal(c.d.conns.counters.reused, 0);
  t.end();
});

t.test('conn_reuse_mode 0 turns off the state rules, not expire_nodest_conn at weight 0', (t) => {
  const a = nat({ reuseMode: 0 });
  const first = send(a, 'S');
  a.d.conns.setState(conn(a).slot, TcpState.TIME_WAIT, a.clock.now);
  t.equal(send(a, 'S'), first, 'mode 0: a SYN on TIME_WAIT goes to the same server');
  t.equal(a.d.conns.counters.reused, 0);

  const b = nat({ reuseMode: 0, nodest: true });
  const rs = send(b, 'S');
  b.d.conns.setState(conn(b).slot, TcpState.ESTABLISHED, b.clock.now);
  b.d.editDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: rs, port: 80, method: 'masq', weight: 0 });
  t.equal(send(b, 'S'), other(rs), 'mode 0 + expire_nodest_conn: a SYN on a weight-0 server\'s entry is scheduled anew');
  t.equal(b.d.conns.counters.reused, 1);

  const c = nat({ reuseMode: 0, nodest: false });
  const rc = send(c, 'S');
  c.d.editDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: rc, port: 80, method: 'masq', weight: 0 });
  t.equal(send(c, 'S'), rc, 'without expire_nodest_conn the weight-0 server keeps it');
  t.end();
});

t.test('a controlled entry (persistence child) is never rescheduled, not even at weight 0 with expire_nodest_conn', (t) => {
  const a = nat({ persistent: 300, nodest: true });
  const rs = send(a, 'S');
  const child = conn(a);
  t.ok(a.d.conns.control(child.slot) >= 0, 'the connection has its template as controller');
  a.d.conns.setState(child.slot, TcpState.TIME_WAIT, a.clock.now);
  a.d.editDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: rs, port: 80, method: 'masq', weight: 0 });
  t.equal(send(a, 'S'), rs, 'the SYN stays on the entry and its server');
  t.equal(a.d.conns.counters.reused, 0, 'no reuse');
  t.equal(conn(a).slot, child.slot, 'the same entry');
  t.end();
});
