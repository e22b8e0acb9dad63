// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { testFixtureTable } from '@tunvs/forwarder/testing';
import { BypassForwarder } from '../src/index.js';
import { BYPASS_CONN, BYPASS_FIXTURES } from './fixtures.js';

testFixtureTable(t, () => new BypassForwarder(), BYPASS_FIXTURES, BYPASS_CONN);
