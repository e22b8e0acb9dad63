// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { canonicalHex, invalidOutputs, movedCounters, runFixture } from '@tunvs/forwarder/testing';
import { LocalForwarder } from '../src/index.js';
import { LOCAL_CONN, LOCAL_FIXTURES } from './fixtures.js';

for (const f of LOCAL_FIXTURES) {
  t.test(f.name, (t) => {
    const r = runFixture(new LocalForwarder(), f, { ...LOCAL_CONN, ...f.conn });
    t.same(r.output, f.output.map(canonicalHex), 'the frames sent');
    t.same(movedCounters(r.counters), f.counters ?? {}, 'the counters moved');
    t.same(invalidOutputs(r, f), [], 'every frame sent is valid');
    t.end();
  });
}
