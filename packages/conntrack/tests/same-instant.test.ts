import t from 'tap';
import { Dest, DestRegistry, Proto } from '@tunvs/model';
import { ConnTable } from '../src/index.js';

const T = 10_000; // the template's persistence timeout, ms
const D = 1_000; // how long after the first arm the second one comes, ms (2 D < the 3 s initial timeout)

interface Opts {
  wheelSlots?: number;
  tickMs?: number;
}

function table(o: Opts) {
  const registry = new DestRegistry();
  const d = new Dest(0x0a000101, 80);
  registry.register(d);
  const c = new ConnTable({ capacity: 64, registry, seed: 1, ...o });
  return { c, d };
}

/**
 * A template and one connection under it, both due at start + D + T but armed at
 * different times (so at different laps of the wheel): with `templateLast` the connection
 * is armed at `start` (for D + T) and the template at start + D; otherwise the template
 * is armed at start + D and the connection at start + 2 D (for T - D).
 */
function pair(templateLast: boolean, o: Opts, start: number) {
  const { c, d } = table(o);
  c.tick(start);
  const tpl = c.createTemplate(Proto.TCP, 0xc0000200, 0x0a000064, 80, d.addr, 80, d, T / 1000, start);
  const conn = c.create(Proto.TCP, 0xc0000207, 40000, 0x0a000064, 80, d.addr, 80, d, 0, start, tpl);
  if (templateLast) {
    c.setTimeout(conn, D + T, start);
    c.tick(start + D);
    c.touch(tpl, start + D); // due at start + D + T, armed after the connection
  } else {
    c.touch(tpl, start + D); // due at start + D + T
    c.tick(start + 2 * D);
    c.setTimeout(conn, T - D, start + 2 * D); // due at start + D + T, armed after the template
  }
  return { c, tpl, conn, due: start + D + T };
}

t.test('same instant: the most recently armed timer fires first, whatever the lap of the wheel', async (t) => {
  for (const o of [{}, { wheelSlots: 256 }, { wheelSlots: 1024 }, { wheelSlots: 16 }, { tickMs: 1 }, { tickMs: 1, wheelSlots: 256 }] as Opts[]) {
    for (const start of [0, 1_000, 123_456, 9_999_992]) {
      const name = `${JSON.stringify(o)} start ${start}`;
      const connLast = pair(false, o, start);
      t.equal(connLast.c.tick(connLast.due - 1), 0, `${name}: nothing due before the instant`);
      connLast.c.tick(connLast.due);
      t.notOk(connLast.c.isLive(connLast.conn), `${name}: the connection, armed last, goes first`);
      t.notOk(connLast.c.isLive(connLast.tpl), `${name}: then its template, now unused, at the same instant`);
      t.equal(connLast.c.size, 0);
      t.equal(connLast.c.counters.rearmed, 0);

      const tplLast = pair(true, o, start);
      t.equal(tplLast.c.tick(tplLast.due - 1), 0);
      tplLast.c.tick(tplLast.due);
      t.ok(tplLast.c.isLive(tplLast.tpl), `${name}: the template, armed last, fires first with a child: kept 60 s`);
      t.notOk(tplLast.c.isLive(tplLast.conn), `${name}: its connection went after it`);
      t.equal(tplLast.c.counters.rearmed, 1);
      t.equal(tplLast.c.remainingMs(tplLast.tpl, tplLast.due), 60_000, `${name}: re-armed from its own instant`);
    }
  }
});

t.test('same instant after a clock jump of many laps: arm order kept', async (t) => {
  for (const templateLast of [false, true]) {
    const { c, tpl, due } = pair(templateLast, { wheelSlots: 16, tickMs: 1 }, 0);
    c.tick(due + 100_000); // 7000 laps of the 16-slot wheel in one call
    // the template, when it fired first, was re-armed from `due` and expired 60 s later
    t.notOk(c.isLive(tpl));
    t.equal(c.size, 0);
    t.equal(c.counters.rearmed, templateLast ? 1 : 0);
  }
});

t.test('entries fire in instant order within one tick call spanning many instants', async (t) => {
  const { c, d } = table({ tickMs: 1, wheelSlots: 16 });
  const order: number[] = [];
  c.setHooks({ expired: (slot) => order.push(slot) });
  c.tick(0);
  const slots: number[] = [];
  // due at 50, 40, 30, 20, 10 ms (the wheel's 16 slots see several laps)
  for (let k = 0; k < 5; k++) {
    const s = c.create(Proto.UDP, 0xc0000201 + k, 1000, 0x0a000064, 53, d.addr, 53, d, 0, 0);
    c.setTimeout(s, 50 - 10 * k, 0);
    slots.push(s);
  }
  t.equal(c.tick(1_000_000), 5);
  t.same(order, [...slots].reverse(), 'earliest instant first');
});

t.test('an entry re-armed on expiry counts its 60 s from its own instant, not from the late tick', async (t) => {
  for (const tickMs of [1, 8]) {
    const { c, tpl, due } = pair(true, { tickMs }, 0);
    c.tick(due + 900); // one late tick
    t.ok(c.isLive(tpl));
    t.equal(c.remainingMs(tpl, due + 900), 60_000 - 900, `tickMs ${tickMs}`);
  }
});

t.test('re-arming to the same expiry keeps the place (as the kernel mod_timer)', async (t) => {
  const { c, d } = table({ tickMs: 1 });
  const order: number[] = [];
  c.setHooks({ expired: (slot) => order.push(slot) });
  c.tick(0);
  const a = c.create(Proto.UDP, 0xc0000201, 1000, 0x0a000064, 53, d.addr, 53, d, 0, 0);
  const b = c.create(Proto.UDP, 0xc0000202, 1000, 0x0a000064, 53, d.addr, 53, d, 0, 0);
  c.setTimeout(a, 5000, 0);
  c.setTimeout(b, 5000, 0); // b armed last
  c.setTimeout(a, 5000, 0); // same expiry: no re-queue
  c.tick(5000);
  t.same(order, [b, a]);
});
