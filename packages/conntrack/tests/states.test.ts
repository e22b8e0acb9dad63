import t from 'tap';
import { ConnFlag } from '@tunvs/model';
import {
  TCP_DEFAULT_TIMEOUTS,
  TCP_STATE_NAMES,
  TcpFlag,
  TcpState,
  tcpEvent,
  tcpStateActive,
} from '../src/index.js';
import { CLIENT, RS1, RS2, TCP, VIP, setup } from './helpers.js';

// The reference tables (ipvs-semantics.md 3.5), rows = current state, columns
// SYN FIN ACK RST, written out independently of src/tcp-states.ts.
const INPUT = `
NONE        SYN_RECV CLOSE      ESTABLISHED CLOSE
ESTABLISHED ESTABLISHED CLOSE_WAIT ESTABLISHED CLOSE
SYN_SENT    ESTABLISHED SYN_SENT SYN_SENT CLOSE
SYN_RECV    SYN_RECV TIME_WAIT  ESTABLISHED SYN_RECV
FIN_WAIT    SYN_RECV TIME_WAIT  FIN_WAIT    CLOSE
TIME_WAIT   SYN_RECV TIME_WAIT  TIME_WAIT   CLOSE
CLOSE       SYN_RECV CLOSE      CLOSE       CLOSE
CLOSE_WAIT  SYN_RECV CLOSE_WAIT CLOSE_WAIT  CLOSE
LAST_ACK    SYN_RECV LAST_ACK   CLOSE       LAST_ACK
LISTEN      SYN_RECV LISTEN     LISTEN      LISTEN
SYNACK      SYN_RECV TIME_WAIT  ESTABLISHED SYN_RECV`;

const OUTPUT = `
NONE        SYN_SENT TIME_WAIT  ESTABLISHED CLOSE
ESTABLISHED ESTABLISHED FIN_WAIT ESTABLISHED CLOSE
SYN_SENT    SYN_SENT SYN_SENT   SYN_SENT    SYN_SENT
SYN_RECV    SYN_RECV TIME_WAIT  ESTABLISHED CLOSE
FIN_WAIT    SYN_SENT FIN_WAIT   FIN_WAIT    CLOSE
TIME_WAIT   SYN_SENT TIME_WAIT  TIME_WAIT   TIME_WAIT
CLOSE       SYN_SENT CLOSE      CLOSE       CLOSE
CLOSE_WAIT  SYN_SENT TIME_WAIT  CLOSE_WAIT  CLOSE
LAST_ACK    SYN_SENT LAST_ACK   LAST_ACK    CLOSE
LISTEN      LISTEN   LISTEN     ESTABLISHED CLOSE
SYNACK      SYN_RECV TIME_WAIT  ESTABLISHED CLOSE`;

const INPUT_ONLY = `
NONE        SYN_RECV CLOSE      ESTABLISHED CLOSE
ESTABLISHED ESTABLISHED FIN_WAIT ESTABLISHED CLOSE
SYN_SENT    ESTABLISHED SYN_SENT SYN_SENT CLOSE
SYN_RECV    SYN_RECV TIME_WAIT  ESTABLISHED SYN_RECV
FIN_WAIT    SYN_RECV FIN_WAIT   FIN_WAIT    CLOSE
TIME_WAIT   SYN_RECV TIME_WAIT  TIME_WAIT   CLOSE
CLOSE       SYN_RECV CLOSE      CLOSE       CLOSE
CLOSE_WAIT  SYN_RECV CLOSE_WAIT CLOSE_WAIT  CLOSE
LAST_ACK    SYN_RECV LAST_ACK   CLOSE       LAST_ACK
LISTEN      SYN_RECV LISTEN     LISTEN      LISTEN
SYNACK      SYN_RECV TIME_WAIT  ESTABLISHED CLOSE`;

function parse(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.trim().split('\n')) {
    const [state, ...next] = line.trim().split(/\s+/);
    m.set(state!, next);
  }
  return m;
}

// Several flag bytes per event, to check the classification too (RST wins over SYN, etc.).
const EVENT_FLAGS: [string, number[]][] = [
  ['SYN', [TcpFlag.SYN, TcpFlag.SYN | TcpFlag.ACK, TcpFlag.SYN | TcpFlag.FIN]],
  ['FIN', [TcpFlag.FIN, TcpFlag.FIN | TcpFlag.ACK, TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK]],
  ['ACK', [TcpFlag.ACK, TcpFlag.ACK | TcpFlag.PSH]],
  ['RST', [TcpFlag.RST, TcpFlag.RST | TcpFlag.ACK, TcpFlag.RST | TcpFlag.SYN]],
];

t.test('event classification: RST, SYN, FIN, ACK, else none', (t) => {
  t.equal(tcpEvent(0x04 | 0x02 | 0x01 | 0x10), 3);
  t.equal(tcpEvent(0x02 | 0x01 | 0x10), 0);
  t.equal(tcpEvent(0x01 | 0x10), 1);
  t.equal(tcpEvent(0x10), 2);
  t.equal(tcpEvent(0x08), -1);
  t.equal(tcpEvent(0), -1);
  t.end();
});

for (const [name, text, output, method] of [
  ['INPUT (NAT, client -> server)', INPUT, false, 'nat'],
  ['OUTPUT (NAT, server -> client)', OUTPUT, true, 'nat'],
  ['INPUT_ONLY (DR, no reply seen)', INPUT_ONLY, false, 'dr'],
] as const) {
  t.test(`every ${name} transition, counters and timeout`, (t) => {
    const table = parse(text);
    t.equal(table.size, 11);
    let port = 1000;
    for (const [from, row] of table) {
      const fromState = TCP_STATE_NAMES.indexOf(from);
      t.ok(fromState >= 0, from);
      for (let e = 0; e < 4; e++) {
        const [ev, flagBytes] = EVENT_FLAGS[e]!;
        for (const fl of flagBytes) {
          const { table: ct, nat, dr } = setup();
          const dest = method === 'nat' ? nat : dr;
          const daddr = method === 'nat' ? RS1 : RS2;
          const s = ct.create(TCP, CLIENT, port++, VIP, 80, daddr, 80, dest, 0, 0);
          ct.setState(s, fromState, 0);
          t.equal(ct.state(s), fromState);
          const got = ct.packet(s, output, fl, 1000);
          const want = row[e]!;
          t.equal(TCP_STATE_NAMES[got], want, `${from} --${ev}(0x${fl.toString(16)})--> ${want}`);
          t.equal(ct.stateName(s), want);
          const active = tcpStateActive(got);
          t.equal(dest.activeConns, active ? 1 : 0, `${want} active count`);
          t.equal(dest.inactConns, active ? 0 : 1, `${want} inactive count`);
          t.equal((ct.flags(s) & ConnFlag.INACTIVE) !== 0, !active);
          t.equal(ct.timeout(s), TCP_DEFAULT_TIMEOUTS[got]! * 1000);
          if (method === 'dr') t.ok(ct.flags(s) & ConnFlag.NOOUTPUT, 'input keeps NOOUTPUT');
        }
      }
      // a segment with none of RST/SYN/FIN/ACK moves every state to CLOSE
      const { table: ct, nat, dr } = setup();
      const dest = method === 'nat' ? nat : dr;
      const s = ct.create(TCP, CLIENT, port++, VIP, 80, RS1, 80, dest, 0, 0);
      ct.setState(s, fromState, 0);
      t.equal(ct.packet(s, output, TcpFlag.PSH, 1000), TcpState.CLOSE, `${from} --none--> CLOSE`);
      t.equal(dest.inactConns, 1);
    }
    t.end();
  });
}

t.test('active states are ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK', (t) => {
  const active = TCP_STATE_NAMES.filter((_, i) => tcpStateActive(i));
  t.same(active, ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYNACK']);
  t.end();
});

t.test('NAT trace, client closes first (reference 3.5)', (t) => {
  const { table, nat } = setup();
  const s = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 80, nat, 0, 0);
  t.equal(nat.inactConns, 1, 'a new connection starts inactive');
  t.equal(table.timeout(s), 3000, 'initial timeout 3 s');
  const seq: [boolean, number, string][] = [
    [false, TcpFlag.SYN, 'SYN_RECV'],
    [true, TcpFlag.SYN | TcpFlag.ACK, 'SYN_RECV'],
    [false, TcpFlag.ACK, 'ESTABLISHED'],
    [false, TcpFlag.FIN | TcpFlag.ACK, 'CLOSE_WAIT'],
    [true, TcpFlag.FIN | TcpFlag.ACK, 'TIME_WAIT'],
    [false, TcpFlag.ACK, 'TIME_WAIT'],
  ];
  for (const [out, fl, want] of seq) t.equal(TCP_STATE_NAMES[table.packet(s, out, fl, 0)], want);
  t.equal(nat.activeConns, 0);
  t.equal(nat.inactConns, 1);
  t.end();
});

t.test('DR trace: SYN, ACK, FIN stays FIN_WAIT; an output packet clears NOOUTPUT', (t) => {
  const { table, dr } = setup();
  const s = table.create(TCP, CLIENT, 40001, VIP, 80, RS2, 80, dr, 0, 0);
  t.ok(table.flags(s) & ConnFlag.NOOUTPUT);
  t.equal(table.fwd(s), dr.fwd);
  table.packet(s, false, TcpFlag.SYN, 0);
  t.equal(dr.activeConns, 1);
  table.packet(s, false, TcpFlag.ACK, 0);
  t.equal(table.stateName(s), 'ESTABLISHED');
  table.packet(s, false, TcpFlag.FIN | TcpFlag.ACK, 0);
  t.equal(table.stateName(s), 'FIN_WAIT');
  table.packet(s, false, TcpFlag.ACK, 0);
  t.equal(table.stateName(s), 'FIN_WAIT');
  t.equal(dr.activeConns, 0);
  t.equal(dr.inactConns, 1);
  const s2 = table.create(TCP, CLIENT, 40002, VIP, 80, RS2, 80, dr, 0, 0);
  table.packet(s2, true, TcpFlag.ACK, 0);
  t.equal(table.flags(s2) & ConnFlag.NOOUTPUT, 0, 'output clears NOOUTPUT');
  table.packet(s2, false, TcpFlag.FIN, 0);
  t.equal(table.stateName(s2), 'CLOSE_WAIT', 'then the INPUT table applies');
  t.end();
});

t.test('UDP: one state, always inactive, timeout from --set', (t) => {
  const { table, nat } = setup();
  const s = table.create(17, CLIENT, 5353, VIP, 53, RS1, 53, nat, 0, 0);
  for (let i = 0; i < 5; i++) table.packet(s, i % 2 === 1, 0xff, 0);
  t.equal(table.state(s), 0);
  t.equal(table.stateName(s), 'UDP');
  t.equal(nat.activeConns, 0);
  t.equal(nat.inactConns, 1);
  t.equal(table.timeout(s), 300_000);
  t.equal(table.inPkts(s), 3);
  t.end();
});

t.test('setTimeouts applies from the next packet; 0 leaves a value', (t) => {
  const { table, nat } = setup();
  const s = table.create(TCP, CLIENT, 1, VIP, 80, RS1, 80, nat, 0, 0);
  table.packet(s, false, TcpFlag.ACK, 0);
  t.equal(table.timeout(s), 900_000);
  table.setTimeouts({ tcp: 100, tcpfin: 0, udp: 30 });
  t.same(table.getTimeouts(), { tcp: 100, tcpfin: 120, udp: 30 });
  t.equal(table.timeout(s), 900_000, 'unchanged until the next packet');
  table.packet(s, false, TcpFlag.ACK, 0);
  t.equal(table.timeout(s), 100_000);
  table.setTimeouts({ tcpfin: 7 });
  table.packet(s, true, TcpFlag.FIN, 0);
  t.equal(table.stateName(s), 'FIN_WAIT');
  t.equal(table.timeout(s), 7000);
  t.end();
});
