import t from 'tap';
import { MemoryLink, allocBatch } from '../src/index.js';

t.test('injected packets arrive as one batch and writes are kept', (t) => {
  const link = new MemoryLink('tun', 1500);
  const seen: number[][] = [];
  link.onBatch((b) => {
    const lens: number[] = [];
    for (let i = 0; i < b.count; i++) lens.push(b.lengths[i]!);
    seen.push(lens);
    link.writeBatch(b);
  });
  link.receive(new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]));
  t.same(seen, [[3, 2]]);
  const out = link.drain();
  t.same(out.map((p) => [...p]), [[1, 2, 3], [4, 5]]);
  t.equal(link.counters.rxPackets, 2);
  t.equal(link.counters.txPackets, 2);
  t.equal(link.counters.rxBatches, 1);
  t.end();
});

t.test('a full transmit queue is counted, never silent', (t) => {
  const link = new MemoryLink('tap', 100);
  link.txBudget = 1;
  const b = allocBatch(4, 1000);
  b.count = 3;
  for (let i = 0; i < 3; i++) {
    b.offsets[i] = i * 10;
    b.lengths[i] = 10;
  }
  b.lengths[2] = 500; // over the MTU
  t.equal(link.writeBatch(b), 1);
  t.equal(link.counters.txDropped, 2);
  t.end();
});
