// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { testFixtureTable } from '@tunvs/forwarder/testing';
import { LocalForwarder } from '../src/index.js';
import { LOCAL_CONN, LOCAL_FIXTURES } from './fixtures.js';

testFixtureTable(t, () => new LocalForwarder(), LOCAL_FIXTURES, LOCAL_CONN);
