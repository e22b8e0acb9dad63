import t from 'tap';
import { SeqAdjust, seqAfter } from '../src/index.js';

t.test('seqAfter is modulo 2^32', (t) => {
  t.ok(seqAfter(2, 1));
  t.notOk(seqAfter(1, 1));
  t.ok(seqAfter(5, 0xfffffff0), 'after across the wrap');
  t.notOk(seqAfter(0xfffffff0, 5));
  t.end();
});

t.test('one resize: later bytes shift, the resized segment itself and older ones do not', (t) => {
  const a = new SeqAdjust();
  t.equal(a.seq(1000), 1000, 'nothing recorded');
  a.update(1000, 3);
  t.equal(a.seq(1000), 1000, 'the resized segment keeps its start');
  t.equal(a.seq(1050), 1053);
  t.equal(a.seq(900), 900, 'a retransmission of older data');
  // the peer acknowledges in the shifted numbering
  t.equal(a.ack(1053), 1050);
  t.equal(a.ack(1003), 1003, 'an ack at or before init+delta uses the previous delta (0)');
  t.end();
});

t.test('several resizes, retransmissions use the previous delta, a repeated update changes nothing', (t) => {
  const a = new SeqAdjust();
  a.update(1000, 3);
  a.update(2000, -2);
  t.equal(a.delta, 1);
  t.equal(a.previous, 3);
  t.equal(a.seq(2000), 2003, 'the second resized segment itself: previous delta');
  t.equal(a.seq(2100), 2101);
  t.equal(a.seq(1500), 1503, 'between the two resizes: previous delta');
  a.update(2000, -2);
  t.equal(a.delta, 1, 'retransmission of the resized segment is not counted twice');
  a.update(1500, 5);
  t.equal(a.delta, 1, 'an older segment resized again is not recorded');
  t.end();
});

t.test('wraparound: a resize just before 2^32 shifts bytes after the wrap', (t) => {
  const a = new SeqAdjust();
  a.update(0xfffffff0, 1);
  t.equal(a.seq(0xfffffff0), 0xfffffff0);
  t.equal(a.seq(0x10), 0x11);
  t.equal(a.seq(0xffffffff), 0, 'a shifted sequence number wraps to 0');
  t.equal(a.ack(0x11), 0x10);
  t.equal(a.ack(0), 0xffffffff, 'the ack moves back across the wrap');
  t.end();
});
