import t from 'tap';
import fc from 'fast-check';
import { ConnFlag, Dest, DestFlag, DestRegistry, Fwd } from '@tunvs/model';
import { ConnTable, tcpStateActive } from '../src/index.js';

const TCP = 6;
const UDP = 17;
const VIP = 0x0a000001;

type Op =
  | { k: 'create'; proto: number; client: number; port: number; dest: number; persist: boolean }
  | { k: 'packet'; pick: number; output: boolean; flags: number }
  | { k: 'advance'; ms: number }
  | { k: 'expire'; pick: number }
  | { k: 'remove'; dest: number }
  | { k: 'quiesce'; dest: number }
  | { k: 'reuse'; pick: number }
  | { k: 'drop' }
  | { k: 'nodest' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('create' as const),
      proto: fc.constantFrom(TCP, UDP),
      client: fc.integer({ min: 0, max: 5 }),
      port: fc.integer({ min: 1, max: 6 }),
      dest: fc.integer({ min: 0, max: 2 }),
      persist: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('packet' as const),
      pick: fc.nat(),
      output: fc.boolean(),
      flags: fc.constantFrom(0x02, 0x12, 0x10, 0x11, 0x01, 0x04, 0x14, 0x18, 0x00),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('expire' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('remove' as const), dest: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('quiesce' as const), dest: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('reuse' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drop' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('nodest' as const) }) },
);

function check(table: ConnTable, dests: Dest[], now: number): void {
  const entries = [...table.entries(now)];
  if (entries.length !== table.size) throw new Error(`size ${table.size} != ${entries.length} listed`);
  if (table.size > table.capacity) throw new Error('capacity exceeded');
  for (const d of dests) {
    let act = 0;
    let inact = 0;
    let persist = 0;
    for (const e of entries) {
      if (e.destId !== d.id) continue;
      if (e.template) persist++;
      else if (e.flags & ConnFlag.INACTIVE) inact++;
      else act++;
    }
    if (d.activeConns !== act || d.inactConns !== inact || d.persistConns !== persist)
      throw new Error(
        `dest ${d.id}: counters ${d.activeConns}/${d.inactConns}/${d.persistConns}, entries ${act}/${inact}/${persist}`,
      );
    if (d.refCount !== act + inact + persist) throw new Error(`dest ${d.id}: refCount ${d.refCount}`);
    const total = d.activeConns + d.inactConns;
    if (d.uThreshold && total >= d.uThreshold && !d.overloaded) throw new Error('OVERLOAD not set');
    const low = d.lThreshold ? total < d.lThreshold : total * 4 < d.uThreshold * 3;
    if (d.overloaded && low) throw new Error('OVERLOAD not cleared');
  }
  for (const e of entries) {
    if (!e.template && e.protocol === TCP) {
      const active = tcpStateActive(table.state(e.slot));
      if (active === ((e.flags & ConnFlag.INACTIVE) !== 0)) throw new Error(`slot ${e.slot}: INACTIVE bit vs state`);
    }
    const children = entries.filter((c) => c.control === e.slot).length;
    if (children !== e.nControl) throw new Error(`slot ${e.slot}: n_control ${e.nControl} != ${children}`);
    if (!e.template) {
      const found = table.lookupIn(e.protocol, e.caddr, e.cport, e.vaddr, e.vport);
      if (found < 0) throw new Error(`slot ${e.slot} not found inbound`);
      const out =
        (e.flags & ConnFlag.FWD_MASK) === Fwd.MASQ
          ? table.lookupOut(e.protocol, e.daddr, e.dport, e.caddr, e.cport)
          : table.lookupOut(e.protocol, e.vaddr, e.vport, e.caddr, e.cport);
      if (out < 0) throw new Error(`slot ${e.slot} not found outbound`);
    }
  }
}

const seen = { rearmed: 0, dropped: 0, reused: 0, refused: 0, forced: 0, expired: 0, templatesInvalidated: 0 };

t.test('random event sequences keep counters, n_control and lookups consistent; nothing leaks', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }), fc.integer({ min: 0, max: 3 }), (ops, mode) => {
      const registry = new DestRegistry();
      const dests = [
        new Dest(0xc0a80a01, 80, { fwd: Fwd.MASQ, uThreshold: 5 }),
        new Dest(0xc0a80a02, 0, { fwd: Fwd.DROUTE }),
        new Dest(0xc0a80a03, 8080, { fwd: Fwd.TUNNEL, uThreshold: 3, lThreshold: 1 }),
      ];
      for (const d of dests) registry.register(d);
      const table = new ConnTable({
        capacity: 12,
        registry,
        seed: 99,
        options: {
          connReuseMode: mode,
          expireNodestConn: mode >= 2,
          expireQuiescentTemplate: mode % 2 === 1,
          dropEntry: mode === 3 ? 3 : 0,
        },
      });
      let now = 0;
      const live = (): number[] => [...table.entries(now)].map((e) => e.slot);
      const pick = (n: number): number => {
        const l = live();
        return l.length ? l[n % l.length]! : -1;
      };
      for (const op of ops) {
        switch (op.k) {
          case 'create': {
            const d = dests[op.dest]!;
            if (!d.available) break;
            const caddr = 0xc0a80100 + op.client;
            const cport = 1000 + op.port;
            if (table.lookupIn(op.proto, caddr, cport, VIP, 80) >= 0) break;
            let ctl = -1;
            if (op.persist) {
              ctl = table.lookupTemplate(op.proto, caddr & 0xfffffffc, VIP, 80);
              if (ctl < 0) ctl = table.createTemplate(op.proto, caddr & 0xfffffffc, VIP, 80, d.addr, d.port, d, 120, now);
              if (ctl < 0) break;
            }
            const dst = ctl >= 0 ? table.dest(ctl)! : d;
            const s = table.create(op.proto, caddr, cport, VIP, 80, dst.addr, dst.port || 80, dst, 0, now, ctl);
            if (s >= 0) table.packet(s, false, 0x02, now);
            break;
          }
          case 'packet': {
            const s = pick(op.pick);
            if (s >= 0 && !table.isTemplate(s)) table.packet(s, op.output, op.flags, now);
            break;
          }
          case 'advance':
            now += op.ms;
            table.tick(now);
            break;
          case 'expire': {
            const s = pick(op.pick);
            if (s >= 0) table.expire(s, now);
            break;
          }
          case 'remove':
            dests[op.dest]!.flags &= ~DestFlag.AVAILABLE;
            break;
          case 'quiesce':
            dests[op.dest]!.weight = 0;
            break;
          case 'reuse': {
            const s = pick(op.pick);
            if (s >= 0 && !table.isTemplate(s)) table.reuse(s, now);
            break;
          }
          case 'drop':
            for (let i = 0; i < 8; i++) table.randomDropEntry(now);
            break;
          case 'nodest':
            table.expireNodest(now);
            break;
        }
        check(table, dests, now);
      }
      for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += table.counters[k];
      // let everything run out
      for (let i = 0; i < 500 && table.size > 0; i++) {
        now += 59_000;
        table.tick(now);
        check(table, dests, now);
      }
      if (table.size !== 0) throw new Error(`${table.size} entries leaked`);
      for (const d of dests) {
        if (d.activeConns || d.inactConns || d.persistConns || d.refCount) throw new Error('counters left');
        if (d.overloaded) throw new Error('OVERLOAD left set');
      }
      // every slot can be used again
      for (let i = 0; i < table.capacity; i++) {
        if (table.create(UDP, 1, i + 1, VIP, 53, 2, 53, null, Fwd.MASQ, now) < 0) throw new Error('slot leaked');
      }
      if (table.create(UDP, 1, 9999, VIP, 53, 2, 53, null, Fwd.MASQ, now) !== -1) throw new Error('over capacity');
    }),
    { seed: 42, numRuns: 300 },
  );
  t.pass('300 random sequences');
  for (const [k, v] of Object.entries(seen)) t.ok(v > 0, `the sequences exercised ${k} (${v})`);
  t.end();
});
