// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { canonicalHex, invalidOutputs, movedCounters, runFixture } from '@tunvs/forwarder/testing';
import { DrouteForwarder } from '../src/index.js';
import { DROUTE_CONN, DROUTE_FIXTURES } from './fixtures.js';

for (const f of DROUTE_FIXTURES) {
  t.test(f.name, (t) => {
    const r = runFixture(new DrouteForwarder(), f, { ...DROUTE_CONN, ...f.conn });
    t.same(r.output, f.output.map(canonicalHex), 'the frames sent');
    t.same(movedCounters(r.counters), f.counters ?? {}, 'the counters moved');
    t.same(invalidOutputs(r, f), [], 'every frame sent is valid');
    t.end();
  });
}
