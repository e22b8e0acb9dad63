import t from 'tap';
import { DEFENSE_DEFAULTS, Dest, DestRegistry, Fwd, checkDefense } from '@tunvs/model';
import type { DefenseSettings } from '@tunvs/model';
import {
  ConnTable,
  TCP_NEXT,
  TCP_NEXT_SECURE,
  TCP_STATE_COUNT,
  TCP_TRANSITIONS,
  TCP_TRANSITIONS_SECURE,
  TcpDir,
  TcpFlag,
  TcpState,
  defenseLevelOff,
  dropThisPacket,
  tcpNextState,
  updateDefenseLevel,
} from '../src/index.js';
import { CLIENT, RS1, TCP, VIP } from './helpers.js';

const settings = (o: Partial<DefenseSettings>): DefenseSettings => ({ ...DEFENSE_DEFAULTS, ...o });

t.test('modes: 0 never, 1 <-> 2 around amemthresh, 3 always', (t) => {
  for (const key of ['dropEntry', 'dropPacket', 'secureTcp'] as const) {
    const on = (l: ReturnType<typeof defenseLevelOff>): boolean => (key === 'dropEntry' ? l.dropEntry : key === 'dropPacket' ? l.dropRate > 0 : l.secureTcp);
    const l = defenseLevelOff();
    const s0 = settings({ [key]: 0, amemthresh: 100 });
    updateDefenseLevel(s0, l, 10);
    t.equal(s0[key], 0, `${key} 0 stays 0 when memory is low`);
    t.notOk(on(l), `${key} 0 never on`);

    const s = settings({ [key]: 1, amemthresh: 100 });
    updateDefenseLevel(s, l, 500);
    t.equal(s[key], 1, `${key} 1 with room: stays 1`);
    t.notOk(on(l));
    updateDefenseLevel(s, l, 99);
    t.equal(s[key], 2, `${key} 1 below amemthresh: becomes 2`);
    t.ok(on(l), `${key} on in 2`);
    updateDefenseLevel(s, l, 50);
    t.equal(s[key], 2, `${key} stays 2 while low`);
    t.ok(on(l));
    updateDefenseLevel(s, l, 100);
    t.equal(s[key], 1, `${key} 2 at amemthresh: back to 1 (the test is available < amemthresh)`);
    t.notOk(on(l));

    const s2 = settings({ [key]: 2, amemthresh: 100 });
    updateDefenseLevel(s2, l, 1000);
    t.equal(s2[key], 1, `${key} written as 2 with room: becomes 1`);

    const s3 = settings({ [key]: 3, amemthresh: 100 });
    updateDefenseLevel(s3, l, 1_000_000);
    t.equal(s3[key], 3, `${key} 3 stays 3`);
    t.ok(on(l), `${key} 3 always on`);
  }
  const neg = settings({ dropEntry: 1, amemthresh: -5 });
  const l = defenseLevelOff();
  updateDefenseLevel(neg, l, 0);
  t.equal(neg.dropEntry, 1, 'a negative amemthresh acts as 0: never low');
  t.end();
});

t.test('drop_packet: rate amemthresh / (amemthresh - available), am_droprate in mode 3', (t) => {
  const l = defenseLevelOff();
  const s = settings({ dropPacket: 1, amemthresh: 100 });
  updateDefenseLevel(s, l, 50);
  t.equal(l.dropRate, 2, '100 / (100 - 50)');
  const seen = Array.from({ length: 10 }, () => dropThisPacket(l));
  t.same(seen.map(Number), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 'every second new connection dropped');
  updateDefenseLevel(s, l, 75);
  t.equal(l.dropRate, 4, '100 / 25');
  updateDefenseLevel(s, l, 0);
  t.equal(l.dropRate, 1, 'no room: every new connection');
  t.ok(dropThisPacket(l) && dropThisPacket(l));
  updateDefenseLevel(s, l, 99);
  t.equal(l.dropRate, 100, '100 / 1');
  updateDefenseLevel(s, l, 100);
  t.equal(l.dropRate, 0, 'room again: off');
  t.notOk(dropThisPacket(l));

  const s3 = settings({ dropPacket: 3, amDroprate: 10 });
  const l3 = defenseLevelOff();
  updateDefenseLevel(s3, l3, 1 << 20);
  t.equal(l3.dropRate, 10);
  let n = 0;
  for (let i = 0; i < 100; i++) if (dropThisPacket(l3)) n++;
  t.equal(n, 10, 'one in am_droprate');
  const s0 = settings({ dropPacket: 3, amDroprate: 0 });
  updateDefenseLevel(s0, l3, 0);
  t.notOk(dropThisPacket(l3), 'am_droprate 0 drops nothing');
  t.end();
});

t.test('secure_tcp tables: the documented differences, nothing else', (t) => {
  const name = (n: number): string => ['INPUT', 'OUTPUT', 'INPUT_ONLY'][n]!;
  const diffs: string[] = [];
  for (let d = 0; d < 3; d++) {
    const a = TCP_TRANSITIONS[name(d) as 'INPUT'];
    const b = TCP_TRANSITIONS_SECURE[name(d) as 'INPUT'];
    for (let s = 0; s < TCP_STATE_COUNT; s++) {
      for (let e = 0; e < 4; e++) {
        if (a[s]![e] !== b[s]![e]) diffs.push(`${name(d)} ${['SYN', 'FIN', 'ACK', 'RST'][e]} ${s}: ${a[s]![e]} -> ${b[s]![e]}`);
        t.equal(TCP_NEXT_SECURE[(d * 4 + e) * TCP_STATE_COUNT + s] === TCP_NEXT[(d * 4 + e) * TCP_STATE_COUNT + s], a[s]![e] === b[s]![e]);
      }
    }
  }
  t.same(diffs.sort(), [
    'INPUT ACK 10: ESTABLISHED -> SYNACK',
    'INPUT ACK 3: ESTABLISHED -> SYN_RECV',
    'INPUT FIN 10: TIME_WAIT -> SYNACK',
    'INPUT RST 10: SYN_RECV -> CLOSE',
    'INPUT SYN 10: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 0: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 10: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 4: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 5: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 6: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 7: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 8: SYN_RECV -> SYNACK',
    'INPUT_ONLY SYN 9: SYN_RECV -> SYNACK',
    'OUTPUT SYN 10: SYN_RECV -> SYNACK',
    'OUTPUT SYN 3: SYN_RECV -> SYNACK',
  ]);
  t.equal(tcpNextState(TcpState.SYN_RECV, TcpDir.INPUT, TcpFlag.ACK, true), TcpState.SYN_RECV);
  t.equal(tcpNextState(TcpState.SYN_RECV, TcpDir.INPUT, TcpFlag.ACK), TcpState.ESTABLISHED);
  t.end();
});

t.test('secure_tcp in the table: a client ACK no longer establishes a NAT entry; the server reply does', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  registry.register(d);
  const table = new ConnTable({ capacity: 4096, registry, seed: 3, options: { secureTcp: 1, amemthresh: 8 } });
  t.notOk(table.defenseLevel.secureTcp, 'armed, off with room');
  const a = table.create(TCP, CLIENT, 1000, VIP, 80, RS1, 80, d, 0, 0);
  table.packet(a, false, TcpFlag.SYN, 0);
  table.packet(a, false, TcpFlag.ACK, 0);
  t.equal(table.state(a), TcpState.ESTABLISHED, 'normal tables: client ACK establishes');

  table.setDefense({ secureTcp: 3 });
  t.ok(table.defenseLevel.secureTcp, 'mode 3: on at once');
  const b = table.create(TCP, CLIENT, 1001, VIP, 80, RS1, 80, d, 0, 0);
  table.packet(b, false, TcpFlag.SYN, 0);
  table.packet(b, false, TcpFlag.ACK, 0);
  t.equal(table.state(b), TcpState.SYN_RECV, 'secure tables: a spoofed ACK leaves it half-open (60 s)');
  t.equal([...table.entries(0)].find((e) => e.slot === b)!.expires, 60, 'with the SYN_RECV timeout');
  table.packet(b, true, TcpFlag.SYN | TcpFlag.ACK, 0);
  t.equal(table.state(b), TcpState.SYNACK, "the server's SYN+ACK: SYNACK");
  table.packet(b, false, TcpFlag.ACK, 0);
  t.equal(table.state(b), TcpState.SYNACK, 'a client ACK still does not establish it');
  table.packet(b, true, TcpFlag.ACK, 0);
  t.equal(table.state(b), TcpState.ESTABLISHED, "the server's next segment does");
  t.end();
});

t.test('automatic secure_tcp follows the table filling', (t) => {
  const registry = new DestRegistry();
  const d = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  registry.register(d);
  const table = new ConnTable({ capacity: 4096, registry, seed: 3, options: { secureTcp: 1, amemthresh: 8 } });
  for (let i = 0; i < 3900; i++) table.packet(table.create(TCP, CLIENT + (i >>> 10), 1 + (i & 1023), VIP, 80, RS1, 80, d, 0, 0), false, TcpFlag.SYN, 0);
  table.tick(0);
  t.equal(table.options.secureTcp, 2);
  t.ok(table.defenseLevel.secureTcp);
  table.tick(61_000);
  t.equal(table.size, 0, 'the half-open entries expired');
  table.tick(62_000);
  t.equal(table.options.secureTcp, 1);
  t.notOk(table.defenseLevel.secureTcp);
  t.same(table.getDefense(), { dropEntry: 0, dropPacket: 0, secureTcp: 1, amemthresh: 8, amDroprate: 10 });
  t.end();
});

t.test('available pages: free slots times the table memory per entry', (t) => {
  const table = new ConnTable({ capacity: 262144, registry: new DestRegistry() });
  t.equal(table.availablePages(), Math.floor((262144 * table.bytesPerEntry) / 4096));
  t.ok(table.bytesPerEntry > 32 && table.bytesPerEntry < 256, `${table.bytesPerEntry} B per entry`);
  t.end();
});

t.test('checkDefense: modes 0..3, C ints, unknown fields refused', (t) => {
  t.same(checkDefense({ dropEntry: 3, amemthresh: -1 }, 'setDefense'), { dropEntry: 3, amemthresh: -1 });
  t.throws(() => checkDefense({ dropEntry: 4 }, 'setDefense'), /invalid drop_entry mode `4'/);
  t.throws(() => checkDefense({ secureTcp: 1.5 }, 'setDefense'), /secure_tcp/);
  t.throws(() => checkDefense({ dropPacket: '1' }, 'setDefense'), /drop_packet/);
  t.throws(() => checkDefense({ amemthresh: 2 ** 31 }, 'setDefense'), /amemthresh/);
  t.throws(() => checkDefense({ constructor: 1 }, 'setDefense'), /unknown field/);
  t.throws(() => checkDefense([], 'setDefense'), /must be an object/);
  t.end();
});
