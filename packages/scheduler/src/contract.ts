/**
 * The scheduler contract, modelled on the kernel's `struct ip_vs_scheduler`: a factory
 * known by the name ipvsadm's `-s` takes, which creates one instance per virtual service
 * (the kernel's `svc->sched_data`). The instance answers `schedule()` for every new
 * connection and is told about destination changes through optional hooks.
 */
import type { Dest, Service } from '@tunvs/model';

/**
 * What a scheduler may look at in the packet that opens a connection. The engine keeps one
 * of these and re-fills it for every packet (no allocation). Addresses are uint32 numbers in
 * host order (10.0.0.1 = 0x0a000001), ports plain numbers.
 */
export interface SchedPacket {
  /** IP protocol number (Proto.TCP, Proto.UDP, ...) */
  protocol: number;
  /** client (source) address */
  saddr: number;
  /** client (source) port, 0 when the protocol has none */
  sport: number;
  /** destination address (the VIP, or the origin server for transparent caches) */
  daddr: number;
  /** destination port */
  dport: number;
  /**
   * The packet is seen in the reverse direction (the headers quoted inside an ICMP error):
   * sh and mh then hash the destination address/port instead of the source ones.
   */
  inverse: boolean;
}

/** A fresh, zeroed SchedPacket (allocate once, then re-fill per packet). */
export function newSchedPacket(): SchedPacket {
  return { protocol: 0, saddr: 0, sport: 0, daddr: 0, dport: 0, inverse: false };
}

/**
 * Options a factory's `create` accepts. Each scheduler reads only the ones it documents;
 * the rest are ignored.
 */
export interface SchedulerOptions {
  /** clock in milliseconds (lblc, lblcr); without it the time set by `tick(now)` is used */
  now?: () => number;
  /** random source returning a float in [0, 1), like Math.random (twos) */
  random?: () => number;
  /** seed for the built-in deterministic random source when `random` is not given (twos) */
  seed?: number;
  /** lblc/lblcr entry expiry in seconds (sysctl lblc_expiration / lblcr_expiration), default 86400 */
  expiration?: number;
  /** mh table index, CONFIG_IP_VS_MH_TAB_INDEX 8..17 (table size = MH_PRIMES[index - 8]), default 12 */
  tableIndex?: number;
}

/**
 * One scheduler attached to one service. Hooks are called *after* the model changed:
 * `addDest` once the destination is at the head of `svc.dests`, `delDest` once it has been
 * removed from `svc.dests` (and its AVAILABLE flag cleared), `updDest` once its weight or
 * thresholds were edited.
 */
export interface SchedulerInstance {
  /** Pick a destination for a new connection, or null when none is eligible. Never allocates. */
  schedule(svc: Service, pkt: SchedPacket): Dest | null;
  /** A destination was added at the head of the list. */
  addDest?(svc: Service, dest: Dest): void;
  /** A destination was removed from the list. */
  delDest?(svc: Service, dest: Dest): void;
  /** A destination's weight or thresholds were edited. */
  updDest?(svc: Service, dest: Dest): void;
  /** Advance the scheduler's clock (ms) and run periodic work that fell due (lblc/lblcr GC). */
  tick?(now?: number): void;
  /** The service is deleted or switches scheduler: release state. */
  done?(): void;
}

/** A scheduler algorithm, registered under the name ipvsadm's `-s` accepts. */
export interface SchedulerFactory {
  /** ipvsadm `-s` name: rr, wrr, lc, ... */
  readonly name: string;
  /** One-line description, as the kernel module's. */
  readonly description: string;
  /** Create the per-service state for `svc` (its current destinations included). */
  create(svc: Service, opts?: SchedulerOptions): SchedulerInstance;
}
