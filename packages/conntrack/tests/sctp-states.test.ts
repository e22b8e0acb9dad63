// The SCTP state machine of ip_vs_proto_sctp.c: a NAT association (replies seen) and a
// DR/TUN one (INPUT_ONLY) walked chunk by chunk, the chunk -> event map, and cells of the
// tables checked against the kernel's.
import t from 'tap';
import {
  SCTP_DEFAULT_TIMEOUTS, SCTP_STATE_NAMES, SCTP_TRANSITIONS, SctpChunk, SctpDir, SctpEvent, SctpState, sctpEvent, sctpNextState,
  sctpStateActive,
} from '../src/index.js';

function walk(dir: (input: boolean) => number, steps: [boolean, number][]): string[] {
  let s: number = SctpState.NONE;
  const out: string[] = [];
  for (const [input, chunk] of steps) {
    s = sctpNextState(s, dir(input), sctpEvent(chunk));
    out.push(SCTP_STATE_NAMES[s]!);
  }
  return out;
}

t.test('a NAT association: 4-way handshake, data, shutdown', (t) => {
  const c = SctpChunk;
  const got = walk((input) => (input ? SctpDir.INPUT : SctpDir.OUTPUT), [
    [true, c.INIT], [false, c.INIT_ACK], [true, c.COOKIE_ECHO], [false, c.COOKIE_ACK],
    [true, c.DATA], [false, c.SACK], [true, c.SHUTDOWN], [false, c.SHUTDOWN_ACK], [true, c.SHUTDOWN_COMPLETE],
  ]);
  t.same(got, ['INIT1', 'C-SENT', 'C-REPLIED', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'S-RECEIVED', 'S-ACK-SENT', 'CLOSED']);
  t.end();
});

t.test('a DR/TUN association sees only the client (INPUT_ONLY)', (t) => {
  const c = SctpChunk;
  const got = walk(() => SctpDir.INPUT_ONLY, [[true, c.INIT], [true, c.COOKIE_ECHO], [true, c.DATA], [true, c.SHUTDOWN], [true, c.SHUTDOWN_COMPLETE]]);
  t.same(got, ['INIT1', 'ESTABLISHED', 'ESTABLISHED', 'S-RECEIVED', 'CLOSED']);
  t.end();
});

t.test('events: the first chunk decides; COOKIE_ECHO/ACK bundled with ABORT is ABORT; unknown types are data', (t) => {
  t.equal(sctpEvent(SctpChunk.HEARTBEAT), SctpEvent.DATA);
  t.equal(sctpEvent(SctpChunk.ECNE), SctpEvent.DATA);
  t.equal(sctpEvent(64), SctpEvent.DATA);
  t.equal(sctpEvent(SctpChunk.COOKIE_ECHO, SctpChunk.ABORT), SctpEvent.ABORT);
  t.equal(sctpEvent(SctpChunk.COOKIE_ACK, SctpChunk.ABORT), SctpEvent.ABORT);
  t.equal(sctpEvent(SctpChunk.COOKIE_ECHO, SctpChunk.DATA), SctpEvent.COOKIE_ECHO);
  t.equal(sctpEvent(SctpChunk.INIT, SctpChunk.ABORT), SctpEvent.INIT, 'only after cookie chunks');
  t.end();
});

t.test('cells of the kernel tables, timeouts, activity', (t) => {
  t.equal(sctpNextState(SctpState.INIT1, SctpDir.OUTPUT, SctpEvent.ABORT), SctpState.REJECTED);
  t.equal(sctpNextState(SctpState.COOKIE_WAIT, SctpDir.INPUT, SctpEvent.ABORT), SctpState.REJECTED);
  t.equal(sctpNextState(SctpState.CLOSED, SctpDir.INPUT, SctpEvent.INIT), SctpState.INIT, 'a new INIT on a closed entry');
  t.equal(sctpNextState(SctpState.ESTABLISHED, SctpDir.OUTPUT, SctpEvent.INIT), SctpState.ESTABLISHED);
  t.equal(sctpNextState(SctpState.COOKIE_WAIT, SctpDir.INPUT_ONLY, SctpEvent.DATA), SctpState.ESTABLISHED);
  for (const rows of Object.values(SCTP_TRANSITIONS)) {
    t.equal(rows.length, 14);
    for (const r of rows) t.equal(r.length, 10);
  }
  t.equal(SCTP_DEFAULT_TIMEOUTS[SctpState.ESTABLISHED], 900);
  t.equal(SCTP_DEFAULT_TIMEOUTS[SctpState.REJECTED], 4);
  t.same(SCTP_STATE_NAMES.filter((_, s) => sctpStateActive(s)), ['ESTABLISHED']);
  t.end();
});
