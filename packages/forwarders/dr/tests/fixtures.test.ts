// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { testFixtureTable } from '@tunvs/forwarder/testing';
import { DrouteForwarder } from '../src/index.js';
import { DROUTE_CONN, DROUTE_FIXTURES } from './fixtures.js';

testFixtureTable(t, () => new DrouteForwarder(), DROUTE_FIXTURES, DROUTE_CONN);
