// The fixture table of the forwarder (fixtures.ts): every input frame gives exactly the
// expected frames, moves exactly the expected counters, and every frame sent parses with
// its checksums right.
import t from 'tap';
import { testFixtureTable } from '@tunvs/forwarder/testing';
import { TunnelForwarder } from '../src/index.js';
import { TUNNEL_CONN, TUNNEL_FIXTURES } from './fixtures.js';

testFixtureTable(t, () => new TunnelForwarder(), TUNNEL_FIXTURES, TUNNEL_CONN);
