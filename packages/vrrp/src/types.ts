/**
 * What the state machine needs to know about an instance (keepalived's vrrp_t after
 * vrrp_complete_instance(): defaults applied, strict-mode corrections done) and the names
 * it reports. Times are integer microseconds.
 */

/** VRRP states (keepalived's numbers; STOP is a pseudo-state for notifications). */
export const VrrpState = {
  Init: 0,
  Backup: 1,
  Master: 2,
  Fault: 3,
  Stop: 98,
} as const;

/** One of the states. */
export type VrrpStateValue = (typeof VrrpState)[keyof typeof VrrpState];

/** The state's name as keepalived prints it and passes it to notify scripts. */
export function stateName(s: VrrpStateValue): 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP' {
  switch (s) {
    case VrrpState.Init:
      return 'INIT';
    case VrrpState.Backup:
      return 'BACKUP';
    case VrrpState.Master:
      return 'MASTER';
    case VrrpState.Fault:
      return 'FAULT';
    default:
      return 'STOP';
  }
}

/** GARP settings of an instance (vrrp_arp.c; defaults from global_defs). */
export interface GarpSpec {
  /** second burst this long after becoming master; 0 = none (default 5 s) */
  masterDelayUs: number;
  /** GARPs per VIP in each burst (default 5) */
  masterRepeat: number;
  /** periodic re-announcement while master; 0 = off (default) */
  masterRefreshUs: number;
  /** GARPs per VIP per refresh (default 1) */
  masterRefreshRepeat: number;
  /** GARPs per VIP when a master hears a lower-priority advert (default = masterRepeat) */
  lowerPrioRepeat: number;
  /** second lower-priority burst after this delay (default = masterDelayUs) */
  lowerPrioDelayUs: number;
}

/** An instance as the state machine runs it. */
export interface InstanceSpec {
  name: string;
  vrid: number;
  version: 2 | 3;
  /** configured priority 1..255 (255 = address owner) */
  priority: number;
  /** configured advert interval (µs): v2 whole seconds, v3 multiples of 10 ms */
  adverIntUs: number;
  /** `state MASTER` (only the address owner acts on it at start-up) */
  wantMaster: boolean;
  nopreempt: boolean;
  /** 0 = none */
  preemptDelayUs: number;
  /** 3 unless configured (non-standard) */
  downTimerAdverts: number;
  /** 0 none, 1 PASS (AH is refused before this point) */
  authType: number;
  /** the 8 PASS bytes */
  authData: Uint8Array;
  /** advertised VIPs (IPv4, numbers, in configuration order) */
  vips: number[];
  /** unicast peers; empty = multicast to 224.0.0.18 */
  unicastPeers: number[];
  checkUnicastSrc: boolean;
  /** v3 checksum without the pseudo-header */
  v3ChecksumAsV2: boolean;
  skipCheckAdvAddr: boolean;
  /** a master answers a lower-priority advert with one of its own unless this is set */
  lowerPrioNoAdvert: boolean;
  /** a master sends an advert before yielding to a higher priority */
  higherPrioSendAdvert: boolean;
  /** FIFO events MASTER_PRIORITY / BACKUP_PRIORITY on priority changes */
  notifyPriorityChanges: boolean;
  garp: GarpSpec;
}

/** Counters of one instance (keepalived's stats names) plus discards by reason. */
export interface InstanceCounters {
  advert_rcvd: number;
  advert_sent: number;
  become_master: number;
  release_master: number;
  pri_zero_rcvd: number;
  pri_zero_sent: number;
  /** every discarded advert, by reason (see DiscardReason) */
  discarded: Record<string, number>;
}

/** A notification in keepalived's terms. */
export interface NotifyEvent {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  /** MASTER, BACKUP, FAULT, STOP, or an event (MASTER_RX_LOWER_PRI, MASTER_PRIORITY, BACKUP_PRIORITY) */
  state: string;
  /** the effective priority (0 for a group) */
  priority: number;
  /** true for the events that only write the FIFO or run notify_master_rx_lower_pri */
  event: boolean;
}

/** One state change, for the log. */
export interface TransitionEvent {
  instance: string;
  /** set when the transition belongs to a sync group move */
  group?: string;
  from: string;
  to: string;
  reason: string;
  priority: number;
  /** the master we last heard (dotted) */
  master: string | null;
}
