import t from 'tap';
import fc from 'fast-check';
import { Dest, DestRegistry, Proto } from '@tunvs/model';
import { ConnTable } from '../src/index.js';

// A timer moved later stays where it is in the wheel until the walk meets it (restart's
// LATER mark). What must not change is what the kernel's mod_timer gives: every entry
// fires at the first tick at or after its last expiry, and of the entries due at one tick
// the most recently armed goes first. The reference below re-queues on every re-arm.

type Op = { k: 'create' } | { k: 'arm'; pick: number; sec: number } | { k: 'advance'; ms: number };

const ops = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ k: 'create' as const }) },
    { weight: 6, arbitrary: fc.record({ k: fc.constant('arm' as const), pick: fc.nat(), sec: fc.integer({ min: 1, max: 6 }) }) },
    {
      weight: 4,
      // mostly short steps, some longer than a lap of the smaller wheels
      arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 400, max: 7000 })) }),
    },
  ),
  { maxLength: 120 },
);

interface Ref {
  exp: number;
  timeout: number;
  seq: number;
}

function run(list: Op[], wheelSlots: number | undefined, tickMs: number): void {
  const registry = new DestRegistry();
  const d = new Dest(0x0a000101, 53);
  registry.register(d);
  const fired: number[] = [];
  const c = new ConnTable({ capacity: 256, registry, seed: 3, tickMs, ...(wheelSlots ? { wheelSlots } : {}) });
  c.setHooks({ expired: (slot) => fired.push(slot) });
  const ref = new Map<number, Ref>();
  let seq = 0;
  let now = 1000;
  let port = 1;
  c.tick(now);
  const tickOf = (ms: number, timeout: number): number => Math.ceil((ms + timeout) / tickMs);
  for (const op of list) {
    if (op.k === 'create') {
      const s = c.create(Proto.UDP, 0xc0000201, port++, 0x0a000064, 53, d.addr, 53, d, 0, now);
      if (s >= 0) ref.set(s, { exp: tickOf(now, 3000), timeout: 3000, seq: ++seq });
    } else if (op.k === 'arm') {
      const live = [...ref.keys()];
      if (live.length === 0) continue;
      const s = live[op.pick % live.length]!;
      const r = ref.get(s)!;
      const exp = tickOf(now, op.sec * 1000);
      c.setTimeout(s, op.sec * 1000, now);
      r.timeout = op.sec * 1000;
      if (exp !== r.exp) {
        r.exp = exp;
        r.seq = ++seq;
      }
    } else {
      now += op.ms;
      fired.length = 0;
      c.tick(now);
      const nowTick = Math.floor(now / tickMs);
      const due = [...ref.entries()].filter(([, r]) => r.exp <= nowTick).sort(([, x], [, y]) => x.exp - y.exp || y.seq - x.seq);
      for (const [s] of due) ref.delete(s);
      // the same entries, in the reference's order wherever that order is recorded: two
      // entries due at one tick with one timeout were armed in one tick, in an order the
      // table does not keep
      const key = (s: number, r: Ref): string => `${r.exp}/${r.timeout}/${s}`;
      const group = (r: Ref): string => `${r.exp}/${r.timeout}`;
      const expect = due.map(([, r]) => group(r));
      const byslot = new Map(due.map(([s, r]) => [s, r]));
      const got = fired.map((s) => (byslot.has(s) ? group(byslot.get(s)!) : `unexpected ${s}`));
      if (JSON.stringify(got) !== JSON.stringify(expect) || fired.length !== due.length || !fired.every((s) => byslot.has(s))) {
        throw new Error(`at ${now} ms: fired ${fired.map((s) => (byslot.has(s) ? key(s, byslot.get(s)!) : s)).join(' ')}; expected ${due.map(([s, r]) => key(s, r)).join(' ')}`);
      }
    }
  }
  if (c.size !== ref.size) throw new Error(`${c.size} entries live, expected ${ref.size}`);
  for (const [s, r] of ref) {
    const left = c.remainingMs(s, now);
    const want = Math.max(0, r.exp * tickMs - now);
    if (left !== want) throw new Error(`slot ${s}: ${left} ms left, expected ${want}`);
  }
}

t.test('timers moved later fire as if re-queued at every re-arm: same ticks, same order', async (t) => {
  for (const [ws, tick] of [
    [undefined, 8],
    [16, 8],
    [16, 1],
    [256, 1],
    // a lap of 8 s: no step of the clock is longer, so the walk meets every moved timer
    // (a longer step settles them all first)
    [1024, 8],
  ] as const) {
    fc.assert(
      fc.property(ops, (list) => {
        run(list, ws, tick);
      }),
      { numRuns: 150, seed: 18 },
    );
    t.pass(`wheel ${ws ?? 'default'} slots, ${tick} ms ticks: 150 random sequences`);
  }
});

t.test('a busy entry is not moved in the wheel by its packets (its neighbours keep their place)', async (t) => {
  const registry = new DestRegistry();
  const d = new Dest(0x0a000101, 53);
  registry.register(d);
  const c = new ConnTable({ capacity: 16, registry, seed: 3, tickMs: 8 });
  const order: number[] = [];
  c.setHooks({ expired: (slot) => order.push(slot) });
  c.tick(0);
  const a = c.create(Proto.UDP, 0xc0000201, 1, 0x0a000064, 53, d.addr, 53, d, 0, 0);
  const b = c.create(Proto.UDP, 0xc0000201, 2, 0x0a000064, 53, d.addr, 53, d, 0, 0);
  // a's packets keep pushing its expiry later; it fires once, at its last expiry
  for (let ms = 8; ms <= 2000; ms += 8) c.packet(a, false, 0, ms);
  c.tick(3000);
  t.same(order, [b], 'b at its 3 s');
  // the clock in steps shorter than a lap of the wheel (256 slots of 8 ms), so that the
  // walk, not a jump, meets a where it waits
  for (let ms = 3000; ms < 2000 + 300_000 - 8; ms += 1000) c.tick(ms);
  c.tick(2000 + 300_000 - 8);
  t.same(order, [b], 'a not before 300 s after its last packet');
  c.tick(2000 + 300_000);
  t.same(order, [b, a], 'and then at once');
});

t.test('moving timers later costs a bounded walk per move, whatever the mix of timeouts due at one tick', async (t) => {
  // A client controls when its connections are re-armed, so it can make entries with
  // different timeouts due at the same tick and have the walk move them alternately. A
  // search from the head of the slot for each would cost the square of their number.
  const registry = new DestRegistry();
  const d = new Dest(0x0a000101, 53);
  registry.register(d);
  const N = 4000;
  const c = new ConnTable({ capacity: 8192, registry, seed: 3, tickMs: 8, wheelSlots: 256 });
  const fired: number[] = [];
  c.setHooks({ expired: (slot) => fired.push(slot) });
  c.tick(0);
  const slots: number[] = [];
  for (let i = 0; i < N; i++) slots.push(c.create(Proto.UDP, 0xc0000201 + (i >>> 12), 1 + (i & 0xfff), 0x0a000064, 53, d.addr, 53, d, 0, 0));
  t.equal(c.size, N);
  // both halves due at 11 s: the even entries armed at 1 s for 10 s, the odd at 2 s for 9 s
  for (let i = 0; i < N; i += 2) c.setTimeout(slots[i]!, 10_000, 1000);
  for (let i = 1; i < N; i += 2) c.setTimeout(slots[i]!, 9_000, 2000);
  const before = c.timerWalkSteps;
  // the walk meets them all at 3 s (their first expiry), in creation order reversed: odd,
  // even, odd, ... and moves each to the slot of 11 s
  for (let ms = 2000; ms <= 3200; ms += 100) c.tick(ms);
  t.equal(fired.length, 0, 'nothing fired at the first expiry');
  const steps = c.timerWalkSteps - before;
  t.ok(steps <= 4 * N, `${N} moves walked ${steps} entries (at most ${4 * N})`);
  for (let ms = 3300; ms <= 11_000; ms += 100) c.tick(ms);
  t.equal(fired.length, N, 'all fire at 11 s');
  const odd = new Set(slots.filter((_, i) => i % 2 === 1));
  t.ok(fired.slice(0, N / 2).every((s) => odd.has(s)), 'the entries armed last (at 2 s) fire first, as after re-queueing at every re-arm');
});
