import { DestFlag, Fwd } from './constants.js';
import { Stats } from './stats.js';
import type { Service } from './service.js';

/**
 * A real server of one virtual service (the kernel's `struct ip_vs_dest`).
 *
 * Addresses are uint32 numbers (host order, so 10.0.0.1 is 0x0a000001). The connection
 * counters are moved by the connection table on bind/unbind and state changes, and read by
 * the schedulers; nothing else writes them.
 */
export class Dest {
  /** slot in the DestRegistry; stable for the object's lifetime, reused after release */
  id = -1;
  /** the service it belongs to; null once removed (it may linger while connections use it) */
  service: Service | null = null;
  /** the service it was removed from, while it waits in the trash for its connections */
  trashedFrom: Service | null = null;
  weight: number;
  /** the most recent non-zero weight (set on add even if 0) */
  lastWeight: number;
  /** forwarding method (Fwd.*) */
  fwd: number;
  /**
   * The forwarder the engine bound for this destination (an index into its forwarder
   * table), copied into every new connection; -1 = the method's own forwarder (index
   * `fwd`). Tunnel destinations with another encapsulation get their own index.
   */
  xmit = -1;
  /** tunnel type (TUNNEL_TYPES index: 0 ipip, 1 gue, 2 gre); tunnelling destinations only */
  tunType = 0;
  /** GUE destination UDP port (`--tun-port`), 0 = none */
  tunPort = 0;
  /** tunnel checksum flag bits (TUNNEL_CSUMS `flag`: 0 nocsum, 1 csum, 2 remcsum) */
  tunFlags = 0;
  /** upper / lower connection thresholds, 0 = unset */
  uThreshold: number;
  lThreshold: number;
  /** DestFlag bits */
  flags = DestFlag.AVAILABLE as number;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;
  /** connections, templates and lblc/lblcr cache entries still pointing at this destination */
  refCount = 0;
  readonly stats = new Stats();

  constructor(
    readonly addr: number,
    readonly port: number,
    opts: { weight?: number; fwd?: number; uThreshold?: number; lThreshold?: number } = {},
  ) {
    this.weight = opts.weight ?? 1;
    this.lastWeight = this.weight;
    this.fwd = opts.fwd ?? Fwd.DROUTE;
    this.uThreshold = opts.uThreshold ?? 0;
    this.lThreshold = opts.lThreshold ?? 0;
  }

  /** True when the OVERLOAD flag is set. */
  get overloaded(): boolean {
    return (this.flags & DestFlag.OVERLOAD) !== 0;
  }

  /** True while the destination belongs to a service. */
  get available(): boolean {
    return (this.flags & DestFlag.AVAILABLE) !== 0;
  }
}
