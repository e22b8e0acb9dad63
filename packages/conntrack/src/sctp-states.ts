/**
 * The SCTP connection states of IPVS (`ip_vs_proto_sctp.c`): names as ipvsadm prints
 * them, default timeouts, the chunk-type -> event map, and the three transition tables
 * (INPUT client -> server, OUTPUT server -> client, INPUT_ONLY for connections whose
 * replies bypass the director), rows = current state, columns = event.
 */

/** SCTP states (IP_VS_SCTP_S_*). */
export const SctpState = {
  NONE: 0,
  INIT1: 1,
  INIT: 2,
  COOKIE_SENT: 3,
  COOKIE_REPLIED: 4,
  COOKIE_WAIT: 5,
  COOKIE: 6,
  COOKIE_ECHOED: 7,
  ESTABLISHED: 8,
  SHUTDOWN_SENT: 9,
  SHUTDOWN_RECEIVED: 10,
  SHUTDOWN_ACK_SENT: 11,
  REJECTED: 12,
  CLOSED: 13,
} as const;

export const SCTP_STATE_COUNT = 14;

/** The names ipvsadm -Lc prints, by state. */
export const SCTP_STATE_NAMES: readonly string[] = [
  'NONE', 'INIT1', 'INIT', 'C-SENT', 'C-REPLIED', 'C-WAIT', 'COOKIE', 'C-ECHOED',
  'ESTABLISHED', 'S-SENT', 'S-RECEIVED', 'S-ACK-SENT', 'REJECTED', 'CLOSED',
];

/** Default timeouts in seconds, by state. */
export const SCTP_DEFAULT_TIMEOUTS: readonly number[] = [2, 4, 61, 61, 61, 61, 61, 61, 900, 61, 61, 61, 4, 61];

/** Events (IP_VS_SCTP_DATA ... IP_VS_SCTP_ABORT). */
export const SctpEvent = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  COOKIE_ECHO: 3,
  COOKIE_ACK: 4,
  SHUTDOWN: 5,
  SHUTDOWN_ACK: 6,
  SHUTDOWN_COMPLETE: 7,
  ERROR: 8,
  ABORT: 9,
} as const;
export const SCTP_EVENT_COUNT = 10;

/** SCTP chunk types (RFC 9260 section 3.2) that matter here. */
export const SctpChunk = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  ECNE: 12,
  CWR: 13,
  SHUTDOWN_COMPLETE: 14,
} as const;

/** Event of each chunk type 0..14; later types are DATA. */
const CHUNK_EVENT = Uint8Array.of(
  SctpEvent.DATA, SctpEvent.INIT, SctpEvent.INIT_ACK, SctpEvent.DATA, SctpEvent.DATA, SctpEvent.DATA,
  SctpEvent.ABORT, SctpEvent.SHUTDOWN, SctpEvent.SHUTDOWN_ACK, SctpEvent.ERROR, SctpEvent.COOKIE_ECHO,
  SctpEvent.COOKIE_ACK, SctpEvent.DATA, SctpEvent.DATA, SctpEvent.SHUTDOWN_COMPLETE,
);

/**
 * The event of a packet from its first chunk's type and, for COOKIE_ECHO and COOKIE_ACK,
 * the type of the chunk after it (-1 when there is none): bundled with an ABORT, the
 * packet counts as ABORT.
 */
export function sctpEvent(firstChunk: number, nextChunk = -1): number {
  if ((firstChunk === SctpChunk.COOKIE_ECHO || firstChunk === SctpChunk.COOKIE_ACK) && nextChunk === SctpChunk.ABORT) return SctpEvent.ABORT;
  return firstChunk < CHUNK_EVENT.length ? CHUNK_EVENT[firstChunk]! : SctpEvent.DATA;
}

/** Only ESTABLISHED counts as active. */
export function sctpStateActive(state: number): boolean {
  return state === SctpState.ESTABLISHED;
}

// Short names for the tables below, as ipvsadm prints the states.
const I1 = 'INIT1';
const IN = 'INIT';
const CS = 'C-SENT';
const CR = 'C-REPLIED';
const CW = 'C-WAIT';
const CO = 'COOKIE';
const CE = 'C-ECHOED';
const ES = 'ESTABLISHED';
const SS = 'S-SENT';
const SR = 'S-RECEIVED';
const SA = 'S-ACK-SENT';
const RJ = 'REJECTED';
const CL = 'CLOSED';

//  events:  DATA INIT INIT_ACK COOKIE_ECHO COOKIE_ACK SHUTDOWN SHUTDOWN_ACK SHUTDOWN_COMPLETE ERROR ABORT
const INPUT_ROWS: readonly (readonly string[])[] = [
  /* NONE */ [ES, I1, CW, CR, ES, SR, CL, CL, CL, CL],
  /* INIT1 */ [I1, IN, CW, IN, I1, I1, IN, CL, I1, CL],
  /* INIT */ [IN, IN, CW, IN, IN, IN, IN, CL, IN, CL],
  /* C-SENT */ [CS, CS, CS, CR, CS, CS, CS, CS, CS, CL],
  /* C-REPLIED */ [CR, CR, CR, CR, CR, CR, CR, CR, CR, CL],
  /* C-WAIT */ [CW, CW, CO, CW, CW, CW, CW, CW, CW, RJ],
  /* COOKIE */ [CO, CO, CO, CO, CO, CO, CO, CO, CO, CL],
  /* C-ECHOED */ [CE, CE, CE, CE, ES, CE, CE, CE, CL, CL],
  /* ESTABLISHED */ [ES, ES, ES, ES, ES, SR, ES, ES, ES, CL],
  /* S-SENT */ [SS, SS, SS, SS, SS, SS, CL, SS, SS, CL],
  /* S-RECEIVED */ [SR, SR, SR, SR, SR, SR, SR, SR, SR, CL],
  /* S-ACK-SENT */ [SA, SA, SA, SA, SA, SA, CL, CL, SA, CL],
  /* REJECTED */ [RJ, IN, RJ, RJ, RJ, RJ, RJ, RJ, RJ, CL],
  /* CLOSED */ [CL, IN, CL, CL, CL, CL, CL, CL, CL, CL],
];

const OUTPUT_ROWS: readonly (readonly string[])[] = [
  /* NONE */ [ES, CW, CS, CE, ES, SS, SA, CL, CL, CL],
  /* INIT1 */ [I1, CW, CS, CE, ES, SS, SA, I1, CL, RJ],
  /* INIT */ [IN, CW, CS, CE, ES, SS, SA, IN, CL, CL],
  /* C-SENT */ [CS, CW, CS, CE, ES, SS, SA, CS, CL, CL],
  /* C-REPLIED */ [CR, CW, CR, CE, ES, SS, SA, CR, CL, CL],
  /* C-WAIT */ [CW, CW, CW, CE, ES, SS, CW, CW, CW, CL],
  /* COOKIE */ [CO, CW, CO, CE, ES, SS, CO, CO, CO, CL],
  /* C-ECHOED */ [CE, CW, CE, CE, ES, SS, CE, CE, CE, CL],
  /* ESTABLISHED */ [ES, ES, ES, ES, ES, SS, ES, ES, ES, CL],
  /* S-SENT */ [SS, CW, SS, SS, SS, SS, SA, SS, SS, CL],
  /* S-RECEIVED */ [SR, CW, SR, SR, SR, SR, SA, SR, SR, CL],
  /* S-ACK-SENT */ [SA, CW, SA, SA, SA, SA, SA, SA, SA, CL],
  /* REJECTED */ [RJ, CW, RJ, RJ, RJ, RJ, RJ, RJ, RJ, CL],
  /* CLOSED */ [CL, CW, CL, CL, CL, CL, CL, CL, CL, CL],
];

const INPUT_ONLY_ROWS: readonly (readonly string[])[] = [
  /* NONE */ [ES, I1, CE, ES, ES, SR, CL, CL, CL, CL],
  /* INIT1 */ [I1, IN, CE, ES, I1, I1, IN, CL, I1, CL],
  /* INIT */ [IN, IN, CE, ES, IN, IN, IN, CL, IN, CL],
  /* C-SENT */ [CS, IN, CE, ES, ES, CS, CS, CL, CS, CL],
  /* C-REPLIED */ [CR, IN, CE, ES, ES, CR, CR, CL, CR, CL],
  /* C-WAIT */ [ES, IN, CE, ES, CW, CW, CW, CW, CW, RJ],
  /* COOKIE */ [CO, CO, CO, CO, ES, CO, CO, CO, CO, CL],
  /* C-ECHOED */ [CE, CE, CE, CE, ES, CE, CE, CE, CE, CL],
  /* ESTABLISHED */ [ES, ES, ES, ES, ES, SR, CL, ES, ES, CL],
  /* S-SENT */ [SS, SS, SS, SS, SS, SS, CL, SS, SS, CL],
  /* S-RECEIVED */ [SR, SR, SR, SR, SR, SR, SR, CL, SR, CL],
  /* S-ACK-SENT */ [SA, SA, SA, SA, SA, SA, CL, CL, SA, CL],
  /* REJECTED */ [RJ, IN, RJ, RJ, RJ, RJ, RJ, RJ, RJ, CL],
  /* CLOSED */ [CL, IN, CL, CL, CL, CL, CL, CL, CL, CL],
];

/** The tables as written (for tests and documentation), by direction. */
export const SCTP_TRANSITIONS = { input: INPUT_ROWS, output: OUTPUT_ROWS, inputOnly: INPUT_ONLY_ROWS } as const;

/** Directions, as the TCP tables number them. */
export const SctpDir = { INPUT: 0, OUTPUT: 1, INPUT_ONLY: 2 } as const;

/** The next-state table flattened: `SCTP_NEXT[(dir * SCTP_EVENT_COUNT + event) * SCTP_STATE_COUNT + state]`. */
export const SCTP_NEXT: Uint8Array = (() => {
  const t = new Uint8Array(3 * SCTP_EVENT_COUNT * SCTP_STATE_COUNT);
  const tables = [INPUT_ROWS, OUTPUT_ROWS, INPUT_ONLY_ROWS];
  for (let d = 0; d < 3; d++) {
    for (let s = 0; s < SCTP_STATE_COUNT; s++) {
      for (let e = 0; e < SCTP_EVENT_COUNT; e++) {
        const next = SCTP_STATE_NAMES.indexOf(tables[d]![s]![e]!);
        if (next < 0) throw new Error(`sctp table: bad state ${tables[d]![s]![e]}`);
        t[(d * SCTP_EVENT_COUNT + e) * SCTP_STATE_COUNT + s] = next;
      }
    }
  }
  return t;
})();

/** The next state of an entry in `state` for a packet in direction `dir` (SctpDir) with event `event`. */
export function sctpNextState(state: number, dir: number, event: number): number {
  return SCTP_NEXT[(dir * SCTP_EVENT_COUNT + event) * SCTP_STATE_COUNT + state]!;
}
