// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { testFixtureTable } from '@tunvs/forwarder/testing';
import { MasqForwarder } from '../src/index.js';
import { MASQ_CONN, MASQ_FIXTURES } from './fixtures.js';

testFixtureTable(t, () => new MasqForwarder(), MASQ_FIXTURES, MASQ_CONN);
