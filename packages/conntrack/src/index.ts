export { ConnTable, ConnLayout, ConnMeta, ConnDestWord, ConnDportWord, MAX_DEST_ID, ExpireReason, DestCheck, editThresholds } from './conn-table.js';
export type { ConnTableOptions, ConnTableSwitches, ConnHooks, ConnEntry, ConnCounters } from './conn-table.js';
export {
  TcpState,
  TemplateState,
  TcpFlag,
  TcpEvent,
  TcpDir,
  TCP_STATE_COUNT,
  TCP_STATE_NAMES,
  TEMPLATE_STATE_NAMES,
  TCP_DEFAULT_TIMEOUTS,
  UDP_DEFAULT_TIMEOUT,
  INITIAL_TIMEOUT,
  CONTROL_REARM_TIMEOUT,
  TCP_TRANSITIONS,
  TCP_NEXT,
  TCP_NEXT_SECURE,
  TCP_TRANSITIONS_SECURE,
  tcpEvent,
  tcpStateActive,
  tcpNextState,
} from './tcp-states.js';
export {
  SctpState, SCTP_STATE_COUNT, SCTP_STATE_NAMES, SCTP_DEFAULT_TIMEOUTS, SctpEvent, SCTP_EVENT_COUNT, SctpChunk, SctpDir,
  SCTP_TRANSITIONS, SCTP_NEXT, sctpEvent, sctpStateActive, sctpNextState,
} from './sctp-states.js';
export { PAGE_BYTES, defenseLevelOff, updateDefenseLevel, dropThisPacket } from './defense.js';
export type { DefenseLevel } from './defense.js';
