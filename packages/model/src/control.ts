/**
 * The control plane's vocabulary: what a service and a destination look like from outside
 * the data plane (addresses as dotted strings, methods and protocols as words), the errors
 * the control operations raise, and the operations themselves.
 *
 * The embedded Director implements `DirectorControl` directly; tunvsd serves the same
 * operations over its control socket as JSON ({ op, args } -> { ok, result | error }), and
 * tunvsadm speaks that protocol. Neither re-implements any rule: they only translate.
 */

/** `tcp` / `udp` for address services; fwmark services have no protocol. */
export type ProtocolName = 'tcp' | 'udp' | 'sctp';

/** ipvsadm's forwarding methods: -m masq, -i tunnel (ipip), -g route (dr), and local. */
export type MethodName = 'masq' | 'tunnel' | 'route' | 'local';

/** Identifies a service: either `fwmark`, or `protocol` + `addr` + `port`. */
export interface ServiceKey {
  fwmark?: number;
  /** fwmark services only: an IPv6 fwmark service (`-f N -6`); address services are IPv6 when `addr` has a ':' */
  ipv6?: boolean;
  protocol?: ProtocolName;
  /** dotted IPv4 */
  addr?: string;
  port?: number;
}

/** A service as added or edited (`-A`/`-E`). Omitted fields take ipvsadm's defaults. */
export interface ServiceSpec extends ServiceKey {
  /** scheduler name (`-s`), default `wlc` */
  scheduler?: string;
  /** scheduler flags (`-b`): sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3 */
  schedFlags?: string[];
  /** persistence timeout in seconds (`-p`); 0 or absent = not persistent */
  persistent?: number;
  /** persistence netmask (`-M`), dotted, default 255.255.255.255 (IPv6: the prefix length in decimal, default "128") */
  netmask?: string;
  /** one-packet scheduling (`-o`) */
  onePacket?: boolean;
  /** persistence engine (`--pe`), only `sip` exists */
  pe?: string;
}

/** A destination as added or edited (`-a`/`-e`). */
export interface DestSpec {
  /** dotted IPv4 */
  addr: string;
  /** 0 = the packet's own destination port (fwmark and port-0 services) */
  port: number;
  /** default `route` (ipvsadm's `-g`) */
  method?: MethodName;
  /** default 1; 0 = quiescent */
  weight?: number;
  /** upper threshold (`-x`), 0 = unset */
  upper?: number;
  /** lower threshold (`-y`), 0 = unset */
  lower?: number;
  /** tunnel servers only (`--tun-type`): default `ipip` */
  tunType?: TunnelType;
  /** GUE tunnels only (`--tun-port`) */
  tunPort?: number;
  /** GUE/GRE tunnels (`--tun-nocsum`/`--tun-csum`/`--tun-remcsum`), default `nocsum` */
  tunFlags?: TunnelCsum;
}

/** `--tun-type` values. */
export type TunnelType = 'ipip' | 'gue' | 'gre';

/** Tunnel checksum modes. */
export type TunnelCsum = 'nocsum' | 'csum' | 'remcsum';

type TunnelFields = 'tunType' | 'tunPort' | 'tunFlags';

/** Totals and rates, as `ipvsadm --stats` / `--rate` show them. */
export interface StatsInfo {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

/** A destination as listed: its spec with every default filled in (tunnel fields optional), plus counters. */
export interface DestInfo extends Required<Omit<DestSpec, TunnelFields>>, Pick<DestSpec, TunnelFields> {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: StatsInfo;
}

/** A service as listed. */
export interface ServiceInfo {
  fwmark: number;
  /** an IPv6 fwmark service (address services: `addr` contains ':') */
  ipv6?: boolean;
  protocol: ProtocolName | null;
  addr: string;
  port: number;
  scheduler: string;
  schedFlags: string[];
  /** 0 = not persistent */
  persistent: number;
  netmask: string;
  onePacket: boolean;
  pe: string;
  /** destinations in the kernel's list order (the last added first) */
  dests: DestInfo[];
  stats: StatsInfo;
}

/** One connection-table entry, as `ipvsadm -L -c` lists it. */
export interface ConnInfo {
  /** 'TCP', 'UDP', or 'IP' for fwmark persistence templates */
  protocol: string;
  clientAddr: string;
  clientPort: number;
  virtualAddr: string;
  virtualPort: number;
  destAddr: string;
  destPort: number;
  /** state name as ipvsadm prints it (ESTABLISHED, SYN_RECV, UDP, NONE, ...) */
  state: string;
  /** seconds until expiry, truncated */
  expires: number;
  /** true for persistence templates */
  template: boolean;
  /** fwmark of the service for fwmark templates, else 0 */
  fwmark: number;
  /** persistence engine name, when the entry carries engine data (`-c --persistent-conn`) */
  peName?: string;
  /** persistence engine data */
  peData?: string;
}

/** `ipvsadm --set tcp tcpfin udp`, in seconds. */
export interface Timeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/**
 * The kernel's defence sysctls (Documentation/networking/ipvs-sysctl): `drop_entry`,
 * `drop_packet` and `secure_tcp` are modes 0 never, 1 automatic (off now), 2 automatic (on
 * now), 3 always; the director moves an automatic mode between 1 and 2 once a second as
 * available memory crosses `amemthresh` (pages). `am_droprate` is drop_packet's rate in
 * mode 3 (one new connection in N is dropped).
 */
export interface DefenseSettings {
  dropEntry: number;
  dropPacket: number;
  secureTcp: number;
  amemthresh: number;
  amDroprate: number;
}

export interface DirectorInfo {
  /** version string of tunvs */
  version: string;
  /** the connection table size shown in the listing header, `(size=N)` */
  connTableSize: number;
  /** running sync daemons, as `ipvsadm -L --daemon` lists them; absent = none */
  daemons?: SyncDaemonInfo[];
}

/** One connection-sync daemon (`-L --daemon`); optional fields print only when set. */
export interface SyncDaemonInfo {
  state: 'master' | 'backup';
  mcastIfn: string;
  syncid: number;
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

/**
 * Error codes of control operations, named after the errno the kernel returns for the same
 * mistake, so that tunvsadm can print ipvsadm's message for each (ipvs_strerror).
 */
export type ControlErrorCode =
  | 'EEXIST'
  | 'ESRCH'
  | 'ENOENT'
  | 'EINVAL'
  | 'ERANGE'
  | 'EPERM'
  | 'ENOMEM'
  | 'EAFNOSUPPORT'
  | 'ENOPROTOOPT'
  | 'ENODEV'
  | 'EADDRNOTAVAIL';

/** A failed control operation. `op` says which operation, for choosing the message. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
    readonly op: string = '',
  ) {
    super(message);
  }
}

/** The operations every front end drives: the embedded Director, tunvsd, tunvsadm. */
export interface DirectorControl {
  /** `-A`: ControlError EEXIST if it exists, ENOENT for an unknown scheduler. */
  addService(spec: ServiceSpec): void;
  /** `-E`: replaces flags, timeout and netmask; ESRCH if missing. */
  editService(spec: ServiceSpec): void;
  /** `-D`: ESRCH if missing. Its connections stay until they expire. */
  deleteService(key: ServiceKey): void;
  /** `-C`: removes every service. */
  clear(): void;
  /** `-a`: ESRCH for a missing service, EEXIST for an existing destination. */
  addDest(key: ServiceKey, dest: DestSpec): void;
  /** `-e`: ENOENT for a missing destination. */
  editDest(key: ServiceKey, dest: DestSpec): void;
  /** `-d`: ENOENT for a missing destination. Established connections finish. */
  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void;
  /** `-Z`: zero the counters of one service or of everything. */
  zero(key?: ServiceKey): void;
  /** Every service, in the order ipvsadm lists them. */
  listServices(): ServiceInfo[];
  /** One service; ESRCH if missing. */
  getService(key: ServiceKey): ServiceInfo;
  /** The connection table (templates included). */
  listConnections(): ConnInfo[];
  /**
   * Optional: the connection table as an iterator, read lazily (the socket streams it in
   * chunks). Like /proc/net/ip_vs_conn, entries created or expired while it is read may or
   * may not appear.
   */
  connections?(): Iterable<ConnInfo>;
  /** `--set`: a 0 leaves that timeout unchanged. */
  setTimeouts(t: Partial<Timeouts>): void;
  getTimeouts(): Timeouts;
  info(): DirectorInfo;
}
