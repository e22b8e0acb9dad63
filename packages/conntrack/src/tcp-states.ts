/**
 * The IPVS TCP state machine (reference: ipvs-semantics.md 3.5): state numbers, the names
 * ipvsadm prints, default timeouts, the event classification of a TCP flags byte, and the
 * three transition tables (INPUT, OUTPUT, INPUT_ONLY) flattened into one Uint8Array.
 */

/** TCP connection states with the kernel's numeric values. */
export const TcpState = {
  NONE: 0,
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT: 4,
  TIME_WAIT: 5,
  CLOSE: 6,
  CLOSE_WAIT: 7,
  LAST_ACK: 8,
  LISTEN: 9,
  SYNACK: 10,
} as const;

/** Number of TCP states. */
export const TCP_STATE_COUNT = 11;

/** State names as ipvsadm / /proc/net/ip_vs_conn print them, indexed by state number. */
export const TCP_STATE_NAMES: readonly string[] = [
  'NONE',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'SYNACK',
];

/** Template states: NONE until a controlled connection is established, then ASSURED. */
export const TemplateState = {
  NONE: 0,
  ASSURED: 1,
} as const;

/** Template state names as printed. */
export const TEMPLATE_STATE_NAMES: readonly string[] = ['NONE', 'ASSURED'];

/** Default per-state TCP timeouts in seconds, indexed by state number. */
export const TCP_DEFAULT_TIMEOUTS: readonly number[] = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];

/** Default UDP timeout in seconds. */
export const UDP_DEFAULT_TIMEOUT = 300;

/** Timeout of a fresh entry before its first state transition, in seconds. */
export const INITIAL_TIMEOUT = 3;

/** Timeout an entry that still controls children gets when its timer fires, in seconds. */
export const CONTROL_REARM_TIMEOUT = 60;

/** TCP header flag bits (the 14th byte of the TCP header). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

/** Event columns of the transition tables. */
export const TcpEvent = {
  SYN: 0,
  FIN: 1,
  ACK: 2,
  RST: 3,
} as const;

/** Table selectors: INPUT (client side), OUTPUT (server replies, NAT), INPUT_ONLY (NOOUTPUT). */
export const TcpDir = {
  INPUT: 0,
  OUTPUT: 1,
  INPUT_ONLY: 2,
} as const;

/**
 * Classify a TCP flags byte: RST first, then SYN, FIN, ACK; -1 when none of them is set
 * (the state machine then moves to CLOSE).
 */
export function tcpEvent(flags: number): number {
  if (flags & TcpFlag.RST) return TcpEvent.RST;
  if (flags & TcpFlag.SYN) return TcpEvent.SYN;
  if (flags & TcpFlag.FIN) return TcpEvent.FIN;
  if (flags & TcpFlag.ACK) return TcpEvent.ACK;
  return -1;
}

/** True for the states counted in a destination's activeconns. */
export function tcpStateActive(state: number): boolean {
  return (
    state === TcpState.ESTABLISHED ||
    state === TcpState.SYN_SENT ||
    state === TcpState.SYN_RECV ||
    state === TcpState.SYNACK
  );
}

// One row per current state (in state order), four columns: SYN FIN ACK RST.
// Short names keep the tables readable; they are expanded below.
const ES = 'ESTABLISHED';
const SS = 'SYN_SENT';
const SR = 'SYN_RECV';
const FW = 'FIN_WAIT';
const TW = 'TIME_WAIT';
const CL = 'CLOSE';
const CW = 'CLOSE_WAIT';
const LA = 'LAST_ACK';
const LI = 'LISTEN';

const INPUT_ROWS: readonly (readonly string[])[] = [
  /* NONE        */ [SR, CL, ES, CL],
  /* ESTABLISHED */ [ES, CW, ES, CL],
  /* SYN_SENT    */ [ES, SS, SS, CL],
  /* SYN_RECV    */ [SR, TW, ES, SR],
  /* FIN_WAIT    */ [SR, TW, FW, CL],
  /* TIME_WAIT   */ [SR, TW, TW, CL],
  /* CLOSE       */ [SR, CL, CL, CL],
  /* CLOSE_WAIT  */ [SR, CW, CW, CL],
  /* LAST_ACK    */ [SR, LA, CL, LA],
  /* LISTEN      */ [SR, LI, LI, LI],
  /* SYNACK      */ [SR, TW, ES, SR],
];

const OUTPUT_ROWS: readonly (readonly string[])[] = [
  /* NONE        */ [SS, TW, ES, CL],
  /* ESTABLISHED */ [ES, FW, ES, CL],
  /* SYN_SENT    */ [SS, SS, SS, SS],
  /* SYN_RECV    */ [SR, TW, ES, CL],
  /* FIN_WAIT    */ [SS, FW, FW, CL],
  /* TIME_WAIT   */ [SS, TW, TW, TW],
  /* CLOSE       */ [SS, CL, CL, CL],
  /* CLOSE_WAIT  */ [SS, TW, CW, CL],
  /* LAST_ACK    */ [SS, LA, LA, CL],
  /* LISTEN      */ [LI, LI, ES, CL],
  /* SYNACK      */ [SR, TW, ES, CL],
];

const INPUT_ONLY_ROWS: readonly (readonly string[])[] = [
  /* NONE        */ [SR, CL, ES, CL],
  /* ESTABLISHED */ [ES, FW, ES, CL],
  /* SYN_SENT    */ [ES, SS, SS, CL],
  /* SYN_RECV    */ [SR, TW, ES, SR],
  /* FIN_WAIT    */ [SR, FW, FW, CL],
  /* TIME_WAIT   */ [SR, TW, TW, CL],
  /* CLOSE       */ [SR, CL, CL, CL],
  /* CLOSE_WAIT  */ [SR, CW, CW, CL],
  /* LAST_ACK    */ [SR, LA, CL, LA],
  /* LISTEN      */ [SR, LI, LI, LI],
  /* SYNACK      */ [SR, TW, ES, CL],
];

/**
 * The `secure_tcp` tables (the kernel's `tcp_states_dos`, ipvs-semantics.md 3.5): the
 * normal rows with the changes that keep a flood's half-open entries from becoming
 * ESTABLISHED (and getting its 900 s timeout) on the client's word alone. A client ACK no
 * longer completes a SYN_RECV entry (only the server's reply does, NAT); a DR/TUN entry
 * whose first packet is a SYN waits in SYNACK; a server SYN moves SYN_RECV to SYNACK.
 * The states keep their timeouts (`tcp_timeouts` is shared by both tables).
 */
function withChanges(rows: readonly (readonly string[])[], changes: readonly [state: number, event: number, next: string][]): string[][] {
  const out = rows.map((r) => [...r]);
  for (const [s, e, next] of changes) out[s]![e] = next;
  return out;
}
const SA = 'SYNACK';
const { SYN: E_SYN, FIN: E_FIN, ACK: E_ACK, RST: E_RST } = TcpEvent;
const S = TcpState;

const INPUT_DOS_ROWS = withChanges(INPUT_ROWS, [
  [S.SYN_RECV, E_ACK, SR],
  [S.SYNACK, E_SYN, SA],
  [S.SYNACK, E_FIN, SA],
  [S.SYNACK, E_ACK, SA],
  [S.SYNACK, E_RST, CL],
]);
const OUTPUT_DOS_ROWS = withChanges(OUTPUT_ROWS, [
  [S.SYN_RECV, E_SYN, SA],
  [S.SYNACK, E_SYN, SA],
]);
const INPUT_ONLY_DOS_ROWS = withChanges(
  INPUT_ONLY_ROWS,
  [S.NONE, S.FIN_WAIT, S.TIME_WAIT, S.CLOSE, S.CLOSE_WAIT, S.LAST_ACK, S.LISTEN, S.SYNACK].map((st) => [st, E_SYN, SA] as [number, number, string]),
);

/** The transition tables as readable rows (state names), for tests and documentation. */
export const TCP_TRANSITIONS = {
  INPUT: INPUT_ROWS,
  OUTPUT: OUTPUT_ROWS,
  INPUT_ONLY: INPUT_ONLY_ROWS,
} as const;

/** The `secure_tcp` transition tables (`tcp_states_dos`) as readable rows. */
export const TCP_TRANSITIONS_SECURE = {
  INPUT: INPUT_DOS_ROWS,
  OUTPUT: OUTPUT_DOS_ROWS,
  INPUT_ONLY: INPUT_ONLY_DOS_ROWS,
} as const;

function flatten(all: readonly (readonly (readonly string[])[])[]): Uint8Array {
  const out = new Uint8Array(3 * 4 * TCP_STATE_COUNT);
  for (let d = 0; d < 3; d++) {
    for (let s = 0; s < TCP_STATE_COUNT; s++) {
      for (let e = 0; e < 4; e++) {
        const name = all[d]![s]![e]!;
        const next = TCP_STATE_NAMES.indexOf(name);
        if (next < 0) throw new Error(`bad state ${name}`);
        out[(d * 4 + e) * TCP_STATE_COUNT + s] = next;
      }
    }
  }
  return out;
}

/**
 * Flattened transitions: index `(dir * 4 + event) * 11 + state` -> next state.
 * `dir` is a TcpDir value, `event` a TcpEvent value.
 */
export const TCP_NEXT: Uint8Array = flatten([INPUT_ROWS, OUTPUT_ROWS, INPUT_ONLY_ROWS]);

/** The `secure_tcp` transitions, flattened as TCP_NEXT. */
export const TCP_NEXT_SECURE: Uint8Array = flatten([INPUT_DOS_ROWS, OUTPUT_DOS_ROWS, INPUT_ONLY_DOS_ROWS]);

/** Next TCP state for a packet: `dir` a TcpDir, `flags` the TCP flags byte; `secure` selects the secure_tcp tables. */
export function tcpNextState(state: number, dir: number, flags: number, secure = false): number {
  const ev = tcpEvent(flags);
  if (ev < 0) return TcpState.CLOSE;
  return (secure ? TCP_NEXT_SECURE : TCP_NEXT)[(dir * 4 + ev) * TCP_STATE_COUNT + state]!;
}
