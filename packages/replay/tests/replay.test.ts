import t from 'tap';
import { Proto } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { Replayer, ReplayError, replay } from '../src/index.js';

type Line = Record<string, unknown>;

/** Replay `ops` and return the printed decision lines, parsed. */
function run(ops: Line[], opts = {}): { n: number; dest: string | null }[] {
  const out: string[] = [];
  replay(
    ops.map((o) => JSON.stringify(o)),
    (l) => out.push(l),
    opts,
  );
  return out.map((l) => JSON.parse(l) as { n: number; dest: string | null });
}

const svc = (extra: Line = {}): Line => ({ op: 'service', proto: 'tcp', vip: '10.0.0.100', port: 80, ...extra });
const add = (dest: string, weight = 1, extra: Line = {}): Line => ({ op: 'add', dest, weight, ...extra });
const connect = (client: string, extra: Line = {}): Line => ({ op: 'connect', client, ...extra });
const clients = (n: number, base = 40000): Line[] => Array.from({ length: n }, (_, i) => connect(`192.0.2.7:${base + i}`));
const dests = (d: { dest: string | null }[]): (string | null)[] => d.map((x) => x.dest);

t.test('wrr: the kernel start and cycle for list order A=4, B=3, C=2 (added C, B, A)', async (t) => {
  const A = '10.0.1.1:80';
  const B = '10.0.1.2:80';
  const C = '10.0.1.3:80';
  const got = dests(run([svc({ scheduler: 'wrr' }), add(C, 2), add(B, 3), add(A, 4), ...clients(3 + 9 * 2)]));
  const L: Record<string, string> = { A, B, C };
  const cycle = 'AABABCABC'.split('').map((c) => L[c]!);
  // the first round runs at cw = 1 (every destination once, list order), then the cycle
  t.same(got, [A, B, C, ...cycle, ...cycle]);
});

t.test('wrr: weights 4, 3, 2 added in that order (list order 2, 3, 4)', async (t) => {
  const W4 = '10.0.1.4:80';
  const W3 = '10.0.1.3:80';
  const W2 = '10.0.1.2:80';
  const got = dests(run([svc({ scheduler: 'wrr' }), add(W4, 4), add(W3, 3), add(W2, 2), ...clients(3 + 9)]));
  // list order C=2, B=3, A=4: first round C B A, then cw=4: A; 3: B A; 2: C B A; 1: C B A
  t.same(got, [W2, W3, W4, W4, W3, W4, W2, W3, W4, W2, W3, W4]);
});

t.test('wlc: picks by overhead; close and expire change the counters', async (t) => {
  const A = '10.0.1.1:80';
  const B = '10.0.1.2:80';
  const r = new Replayer();
  const line = (o: Line) => r.line(JSON.stringify(o))?.dest;
  line(svc({ scheduler: 'wlc' }));
  line(add(A));
  line(add(B)); // list order B, A
  const [dB, dA] = r.current!.dests;
  t.equal(line(connect('192.0.2.1:1000')), B, 'all idle: first in list');
  t.equal(dB!.activeConns, 1, 'a SYN makes the connection active');
  t.equal(line(connect('192.0.2.1:1001')), A);
  t.equal(line(connect('192.0.2.1:1002')), B, 'tie keeps the earlier one');
  t.same([dB!.activeConns, dA!.activeConns], [2, 1]);
  r.line('{"op":"close","n":0}');
  t.same([dB!.activeConns, dB!.inactConns], [1, 1], 'close: TIME_WAIT is inactive');
  t.equal(line(connect('192.0.2.1:1003')), A, 'B 257 > A 256');
  r.line('{"op":"expire","n":0}');
  r.line('{"op":"expire","n":2}');
  t.same([dB!.activeConns, dB!.inactConns], [0, 0], 'expire removes the connections');
  t.equal(line(connect('192.0.2.1:1004')), B);
  t.equal(line(connect('192.0.2.1:1005')), B, 'B 256 vs A 512');
  t.equal(r.slotOf(0), -1, 'an expired connection has no slot');
  r.line('{"op":"close","n":0}'); // already gone: ignored
  t.equal(r.connects, 6);
});

t.test('wlc: weights and UDP connections (inactive)', async (t) => {
  const A = '10.0.1.1:53';
  const B = '10.0.1.2:53';
  const r = new Replayer();
  r.line(JSON.stringify(svc({ proto: 'udp', port: 53 })));
  r.line(JSON.stringify(add(A, 3)));
  r.line(JSON.stringify(add(B, 1)));
  const got: (string | null)[] = [];
  for (let i = 0; i < 8; i++) got.push(r.line(JSON.stringify(connect(`192.0.2.9:${5000 + i}`)))!.dest);
  const [dB, dA] = r.current!.dests;
  t.same([dA!.activeConns, dB!.activeConns], [0, 0], 'UDP connections are never active');
  t.equal(dA!.inactConns + dB!.inactConns, 8);
  t.equal(got.filter((d) => d === A).length, 6, 'weight 3 gets three times the connections');
  t.equal(got.filter((d) => d === B).length, 2);
});

t.test('sh: the same client always gets the same destination', async (t) => {
  const ds = ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'];
  const ops: Line[] = [svc({ scheduler: 'sh' }), ...ds.map((d) => add(d))];
  const ips = ['192.0.2.7', '198.51.100.3', '203.0.113.44', '10.9.8.7', '172.16.5.4'];
  for (let k = 0; k < 4; k++) for (const ip of ips) ops.push(connect(`${ip}:${30000 + k}`));
  const got = dests(run(ops));
  for (let i = 0; i < ips.length; i++) {
    const mine = got.filter((_, j) => j % ips.length === i);
    t.equal(new Set(mine).size, 1, `${ips[i]} sticks to ${mine[0]}`);
    t.not(mine[0], null);
  }
  t.ok(new Set(got).size > 1, 'different clients spread');
});

t.test('sh with sh-port: the client port takes part in the hash', async (t) => {
  const ds = ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'];
  const ops: Line[] = [svc({ scheduler: 'sh', flags: ['sh-port'] }), ...ds.map((d) => add(d))];
  for (let k = 0; k < 20; k++) ops.push(connect(`192.0.2.7:${30000 + k}`));
  for (let k = 0; k < 20; k++) ops.push(connect(`192.0.2.7:${30000 + k}`, { proto: 'tcp' }));
  const got = dests(run(ops));
  t.ok(new Set(got).size > 1, 'one client spreads over destinations');
});

t.test('persistence: a client stays on its destination until the template times out', async (t) => {
  const A = '10.0.1.1:80';
  const B = '10.0.1.2:80';
  const r = new Replayer();
  const line = (o: Line) => r.line(JSON.stringify(o))?.dest;
  line(svc({ scheduler: 'wlc', persistence: 300 }));
  line(add(A));
  line(add(B)); // list order B, A
  t.equal(line(connect('192.0.2.7:40001')), B, 'X: new template on B');
  t.equal(line(connect('198.51.100.1:40001')), A, 'Y: wlc picks the idle A');
  t.equal(line(connect('192.0.2.7:40002')), B, 'X stays on B');
  t.equal(line(connect('192.0.2.7:40003')), B, 'X stays on B');
  const dB = r.current!.findDest(0x0a000102, 80)!;
  t.equal(dB.persistConns, 1, 'one template for X');
  t.equal(dB.activeConns, 3);
  line({ op: 'edit', dest: B, weight: 0 });
  t.equal(line(connect('192.0.2.7:40004')), B, 'a quiescent destination keeps its template');
  line({ op: 'advance', seconds: 200 });
  t.equal(dB.activeConns, 0, 'SYN_RECV connections timed out after 60 s');
  t.equal(line(connect('192.0.2.7:40005')), B, 'template still alive (re-armed by each connection)');
  line({ op: 'advance', seconds: 400 });
  t.equal(dB.persistConns, 0, 'template expired');
  t.equal(line(connect('192.0.2.7:40006')), A, 'a new template forms on A');
  t.equal(line(connect('192.0.2.7:40007')), A);
});

t.test('persistence netmask groups clients of one network', async (t) => {
  const got = dests(
    run([
      svc({ scheduler: 'rr', persistence: 60, netmask: '255.255.255.0' }),
      add('10.0.1.1:80'),
      add('10.0.1.2:80'),
      connect('192.0.2.7:1000'),
      connect('192.0.2.8:1000'),
      connect('192.0.2.9:1000'),
      connect('198.51.100.1:1000'),
    ]),
  );
  t.equal(new Set(got.slice(0, 3)).size, 1, 'one /24 -> one destination');
  t.not(got[3], got[0], 'another network gets the next one');
});

t.test('packets the kernel would not schedule give null', async (t) => {
  const got = dests(
    run([
      svc({ scheduler: 'rr' }),
      connect('192.0.2.7:40000'), // no destination yet
      add('10.0.1.1:80'),
      connect('192.0.2.7:20'), // TCP from port 20 (active FTP data)
      connect('192.0.2.7:40001', { to: '10.0.0.100:81' }), // another port, non-persistent
      connect('192.0.2.7:40002', { to: '10.0.0.200:80' }), // another address
      connect('192.0.2.7:40003', { proto: 'udp' }), // no UDP service
      connect('192.0.2.7:40004'),
      { op: 'edit', dest: '10.0.1.1:80', weight: 0 },
      connect('192.0.2.7:40005'), // quiescent only
      { op: 'del', dest: '10.0.1.1:80' },
      connect('192.0.2.7:40006'),
    ]),
  );
  t.same(got, [null, null, null, null, null, '10.0.1.1:80', null, null]);
});

t.test('port 0 persistent service schedules other ports; fwmark + dh hashes the destination', async (t) => {
  const got = dests(
    run([
      svc({ scheduler: 'rr', port: 0, persistence: 60 }),
      add('10.0.1.1:0'),
      add('10.0.1.2:0'),
      connect('192.0.2.7:40000', { to: '10.0.0.100:443' }),
      connect('192.0.2.7:40001', { to: '10.0.0.100:8443' }),
    ]),
  );
  t.equal(got[0], got[1]!.replace(':8443', ':443'), 'same server, the packet port kept');
  t.match(got[1], /:8443$/);
  const dh = dests(
    run([
      { op: 'service', fwmark: 7, scheduler: 'dh' },
      add('10.0.1.1:0'),
      add('10.0.1.2:0'),
      add('10.0.1.3:0'),
      ...Array.from({ length: 6 }, (_, i) => connect(`192.0.2.${i + 1}:4000`, { to: '203.0.113.9:80' })),
      connect('192.0.2.1:4001', { to: '203.0.113.77:80' }),
    ]),
  );
  t.equal(new Set(dh.slice(0, 6)).size, 1, 'dh: same destination address -> same server');
  t.match(dh[0], /:80$/);
});

t.test('a repeated tuple hits its connection; after close a SYN reschedules (port reuse)', async (t) => {
  const got = dests(
    run([
      svc({ scheduler: 'rr' }),
      add('10.0.1.1:80'),
      add('10.0.1.2:80'),
      connect('192.0.2.7:40000'),
      connect('192.0.2.7:40000'),
      { op: 'close', n: 0 },
      connect('192.0.2.7:40000'),
    ]),
  );
  t.equal(got[1], got[0], 'the existing connection is used');
  t.not(got[2], got[0], 'a SYN on a TIME_WAIT entry is scheduled anew');
});

t.test('client source port 20 is never scheduled, whatever the protocol (ip_vs_schedule)', async (t) => {
  const got = dests(
    run([
      svc({ proto: 'udp', port: 53, scheduler: 'rr' }),
      add('10.0.1.1:53'),
      connect('192.0.2.7:20'), // UDP from port 20: refused as for TCP
      connect('192.0.2.7:21'),
      svc({ proto: 'udp', port: 0, scheduler: 'rr', persistence: 60 }),
      add('10.0.1.2:0'),
      connect('192.0.2.8:20', { to: '10.0.0.100:5000' }), // persistent port-0 service: refused too
      connect('192.0.2.8:5001', { to: '10.0.0.100:5000' }),
    ]),
  );
  t.same(got, [null, '10.0.1.1:53', null, '10.0.1.2:5000']);
});

t.test('lblc/lblcr garbage collection runs every 60 s from the service\'s creation, not from time 0', async (t) => {
  for (const scheduler of ['lblc', 'lblcr']) {
    const r = new Replayer();
    r.line(JSON.stringify({ op: 'advance', seconds: 100 }));
    r.line(JSON.stringify(svc({ scheduler })));
    const gc = r.current!.sched as unknown as { nextCheck: number; counter: number };
    t.equal(gc.nextCheck, 160_000, `${scheduler}: first run due 60 s after creation at 100 s`);
    r.line(JSON.stringify({ op: 'advance', seconds: 59 }));
    t.equal(gc.counter, 1, `${scheduler}: no run before 160 s`);
    r.line(JSON.stringify({ op: 'advance', seconds: 1 }));
    t.equal(gc.counter, 2, `${scheduler}: the first run at 160 s`);
    t.equal(gc.nextCheck, 220_000);
  }
});

t.test('lblc/lblcr cache entries hold their destination: deleted, kept in the trash, revived by -a', async (t) => {
  const A = '10.0.1.1:80';
  const B = '10.0.1.2:80';
  for (const scheduler of ['lblc', 'lblcr']) {
    const r = new Replayer();
    const line = (o: Line) => r.line(JSON.stringify(o))?.dest;
    line({ op: 'service', fwmark: 3, scheduler });
    line(add(B, 3));
    line(add(A, 1));
    t.equal(line(connect('192.0.2.1:1000', { to: '203.0.113.1:80' })), A, `${scheduler}: 203.0.113.1 cached on A`);
    const a = r.current!.findDest(parseIpv4('10.0.1.1'), 80)!;
    line({ op: 'expire', n: 0 });
    t.equal(a.refCount, 1, `${scheduler}: no connection left, the cache entry's reference remains`);
    line({ op: 'del', dest: A });
    line({ op: 'advance', seconds: 300 });
    r.table.purgeTrash();
    t.equal(line(connect('192.0.2.1:1001', { to: '203.0.113.2:80' })), B, `${scheduler}: only B in the service`);
    line(add(A, 1));
    t.equal(r.current!.findDest(parseIpv4('10.0.1.1'), 80), a, `${scheduler}: -a revives the same destination from the trash`);
    t.equal(a.stats.conns, 1, `${scheduler}: its statistics carried over`);
    // a fresh address loads A, so a fresh choice would now be B (256/1 > 256/3)
    t.equal(line(connect('192.0.2.1:1002', { to: '203.0.113.3:80' })), A);
    t.equal(line(connect('192.0.2.1:1003', { to: '203.0.113.1:80' })), A, `${scheduler}: the cached entry works again`);
    // switching the scheduler drops the cache and its references
    const refsBefore = a.refCount;
    line({ op: 'service', fwmark: 3, scheduler: 'rr' });
    t.equal(a.refCount, refsBefore - 2, `${scheduler}: the two cache references are released with the cache`);
  }
});

t.test('timers fire at their exact instants: no 8 ms rounding, a template re-armed from its own expiry', async (t) => {
  const r = new Replayer();
  const line = (o: Line) => r.line(JSON.stringify(o))?.dest;
  line(svc({ persistence: 10, scheduler: 'rr' }));
  line(add('10.0.1.1:80'));
  line({ op: 'advance', seconds: 0.3 });
  line(connect('192.0.2.7:40000'));
  line({ op: 'packet', n: 0 }); // ESTABLISHED: 900 s, outlives the template
  const tpl = r.conns.findTemplate(Proto.TCP, parseIpv4('192.0.2.7'), parseIpv4('10.0.0.100'), 80);
  t.ok(tpl >= 0);
  line({ op: 'advance', seconds: 9.999 }); // 10.299 s
  t.equal(r.conns.remainingMs(tpl, r.now), 1, 'due at 10.300 s exactly');
  line({ op: 'advance', seconds: 0.7 }); // 10.999 s, inside the same 1 s step
  t.ok(r.conns.isLive(tpl), 'a template with a live connection is kept');
  t.equal(r.now + r.conns.remainingMs(tpl, r.now), 70_300, 're-armed for 60 s from 10.300 s, not from the step');

  // a persistence template and its UDP connection due at the same instant: the connection,
  // armed last (by its datagram), goes first, and the template, now unused, goes with it
  for (const [step, at] of [
    [0.001, 300.5],
    [1, 300.5],
    [0.0005, 300.5],
  ] as const) {
    const u = new Replayer({ stepMs: step * 1000 });
    const uline = (o: Line) => u.line(JSON.stringify(o))?.dest;
    uline(svc({ proto: 'udp', port: 53, persistence: 300, scheduler: 'rr' }));
    uline(add('10.0.1.1:53'));
    uline(add('10.0.1.2:53'));
    uline({ op: 'advance', seconds: 0.5 });
    t.ok(uline(connect('192.0.2.7:5000')));
    uline({ op: 'advance', seconds: at - 0.5 - 0.001 });
    t.equal(u.conns.size, 2, `step ${step} s: connection and template until ${at} s`);
    uline({ op: 'advance', seconds: 0.001 });
    t.equal(u.conns.size, 0, `step ${step} s: at ${at} s the connection went first, then its template, unused`);
    t.equal(u.conns.counters.rearmed, 0, 'the template was never kept for its connection');
  }

  // the other order: the template, re-armed by a later connect for the same instant as an
  // earlier connection, goes first, and is kept 60 s (from that instant) for it
  const v = new Replayer();
  const vline = (o: Line) => v.line(JSON.stringify(o))?.dest;
  vline(svc({ persistence: 840, scheduler: 'rr' }));
  vline(add('10.0.1.1:80'));
  vline(connect('192.0.2.7:40000'));
  vline({ op: 'packet', n: 0 }); // ESTABLISHED at 0 s: due at 900 s
  vline({ op: 'advance', seconds: 60 });
  vline(connect('192.0.2.7:40001')); // the template re-armed at 60 s: due at 900 s too
  vline({ op: 'advance', seconds: 839.999 });
  t.equal(v.conns.size, 2, 'the second connection (SYN_RECV, 60 s) is gone, the first and the template wait');
  vline({ op: 'advance', seconds: 0.001 });
  t.equal(v.conns.size, 1, 'at 900 s the template went first, was kept for its connection, which then went');
  t.equal(v.conns.counters.rearmed, 1);
  const vt = v.conns.findTemplate(Proto.TCP, parseIpv4('192.0.2.7'), parseIpv4('10.0.0.100'), 80);
  t.equal(v.now + v.conns.remainingMs(vt, v.now), 960_000, 'kept until 960 s');
});

t.test('lblc and one-packet UDP', async (t) => {
  const r = new Replayer();
  const line = (o: Line) => r.line(JSON.stringify(o))?.dest;
  line({ op: 'service', fwmark: 3, scheduler: 'lblc' });
  line(add('10.0.1.1:0'));
  line(add('10.0.1.2:0'));
  const first = line(connect('192.0.2.1:1', { to: '203.0.113.9:80' }));
  t.equal(line(connect('192.0.2.2:1', { to: '203.0.113.9:80' })), first, 'the cached server for that address');
  line({ op: 'advance', seconds: 90000 });
  t.equal(r.now, 90000 * 1000);
  const u = new Replayer();
  u.line(JSON.stringify(svc({ proto: 'udp', port: 53, scheduler: 'rr', ops: true })));
  u.line(JSON.stringify(add('10.0.1.1:53')));
  t.equal(u.line(JSON.stringify(connect('192.0.2.1:5353')))!.dest, '10.0.1.1:53');
  t.equal(u.conns.size, 0, 'the one-packet entry is gone after its datagram');
});

t.test('errors carry the line number', async (t) => {
  const bad: [string, RegExp][] = [
    ['{"op":', /bad JSON/],
    ['[1]', /JSON object/],
    ['{"op":"jump"}', /unknown op 'jump'/],
    ['{"op":"connect"}', /missing field 'client'/],
    ['{"op":"add","dest":"10.0.1.300:80"}', /10\.0\.1\.300/],
    ['{"op":"add","dest":"10.0.1.1"}', /dest/],
    ['{"op":"add","dest":"10.0.1.1:80","weight":-1}', /weight/],
    ['{"op":"add","dest":"10.0.0.9:80"}', /already exists/],
    ['{"op":"del","dest":"10.0.0.8:80"}', /No such destination/],
    ['{"op":"service","scheduler":"nope","proto":"tcp","vip":"10.0.0.1","port":80}', /Scheduler not found/],
    ['{"op":"service","proto":"sctp","vip":"10.0.0.1","port":80}', /proto/],
    ['{"op":"close","n":99}', /no connect number 99/],
    ['{"op":"advance","seconds":-1}', /seconds/],
  ];
  for (const [l, re] of bad) {
    const lines = [JSON.stringify(svc()), JSON.stringify(add('10.0.0.9:80')), l];
    try {
      replay(lines, () => {});
      t.fail(`no error for ${l}`);
    } catch (e) {
      t.ok(e instanceof ReplayError, l);
      t.equal((e as ReplayError).line, 3, l);
      t.match((e as Error).message, re, l);
    }
  }
  t.throws(() => replay(['{"op":"connect","client":"1.2.3.4:5"}'], () => {}), /no service yet/);
});

t.test('packet: the handshake ACK makes a connection ESTABLISHED (900 s, not SYN_RECV 60 s)', async (t) => {
  const r = new Replayer();
  for (const o of [svc({ scheduler: 'rr' }), add('10.0.1.1:80'), connect('192.0.2.7:40001'), connect('192.0.2.7:40002')]) r.line(JSON.stringify(o));
  r.line('{"op":"packet","n":0,"flags":"A"}');
  t.equal(r.conns.stateName(r.slotOf(0)), 'ESTABLISHED');
  t.equal(r.conns.stateName(r.slotOf(1)), 'SYN_RECV');
  r.advance(120);
  t.ok(r.slotOf(0) >= 0, 'the established connection lives on');
  t.equal(r.slotOf(1), -1, 'the half-open one expired after 60 s');
  r.line('{"op":"packet","n":0,"flags":"F"}');
  t.equal(r.conns.stateName(r.slotOf(0)), 'FIN_WAIT', 'a client FIN moves it by the kernel table');
  r.line('{"op":"packet","n":1,"flags":"A"}');
  t.throws(() => r.line('{"op":"packet","n":0,"flags":"X"}', 9), /SFRPAU/);
  t.throws(() => r.line('{"op":"packet","n":7}', 10), /no connect number 7/);
});

t.test('close with rst: CLOSE (10 s) instead of TIME_WAIT (120 s)', async (t) => {
  const r = new Replayer();
  for (const o of [svc({ scheduler: 'rr' }), add('10.0.1.1:80'), connect('192.0.2.7:40001'), connect('192.0.2.7:40002')]) r.line(JSON.stringify(o));
  r.line('{"op":"close","n":0,"rst":true}');
  r.line('{"op":"close","n":1}');
  t.equal(r.conns.stateName(r.slotOf(0)), 'CLOSE');
  r.advance(11);
  t.equal(r.slotOf(0), -1);
  t.ok(r.slotOf(1) >= 0);
  t.throws(() => r.line('{"op":"close","n":1,"rst":1}'), /'rst' must be a boolean/);
});

t.test('twos is seeded: the same trace gives the same decisions every time', async (t) => {
  const ops = [svc({ scheduler: 'twos' }), add('10.0.1.1:80', 1), add('10.0.1.2:80', 2), add('10.0.1.3:80', 3), ...clients(200)];
  const a = dests(run(ops));
  t.same(dests(run(ops)), a);
  t.not(JSON.stringify(dests(run(ops, { seed: 99 }))), JSON.stringify(a), 'another seed, other choices');
});
