/**
 * Numeric constants shared by every layer, with the kernel's values
 * (include/uapi/linux/ip_vs.h). Plain `as const` objects, not enums, so that an
 * unknown value still round-trips as a number.
 */

/** IP protocol numbers the director handles. */
export const Proto = {
  ICMP: 1,
  IGMP: 2,
  /** IPv4 in IPv4 (the IPIP tunnel) */
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  GRE: 47,
  ESP: 50,
  AH: 51,
  SCTP: 132,
} as const;

/** Service flag bits (`svc.flags`). */
export const SvcFlag = {
  /** persistent service (`-p`) */
  PERSISTENT: 0x0001,
  /** internal: the service is in the lookup table */
  HASHED: 0x0002,
  /** one-packet scheduling (`-o`) */
  ONEPACKET: 0x0004,
  /** scheduler flag 1: sh-fallback / mh-fallback / flag-1 */
  SCHED1: 0x0008,
  /** scheduler flag 2: sh-port / mh-port / flag-2 */
  SCHED2: 0x0010,
  /** scheduler flag 3: flag-3 */
  SCHED3: 0x0020,
} as const;

/** Destination flag bits (`dest.flags`). */
export const DestFlag = {
  /** the destination belongs to a service (cleared when removed) */
  AVAILABLE: 0x0001,
  /** connections reached the upper threshold: schedulers skip it */
  OVERLOAD: 0x0002,
} as const;

/** Forwarding methods: the low 3 bits of the connection flags. */
export const Fwd = {
  /** NAT, ipvsadm `-m` */
  MASQ: 0,
  /** delivered to a service on the director itself */
  LOCALNODE: 1,
  /** IPIP tunnel, ipvsadm `-i` */
  TUNNEL: 2,
  /** direct routing (MAC rewrite), ipvsadm `-g` (the default) */
  DROUTE: 3,
  /** no service: forward unchanged */
  BYPASS: 4,
} as const;

/** Connection flag bits above the forwarding method. */
export const ConnFlag = {
  FWD_MASK: 0x0007,
  SYNC: 0x0020,
  HASHED: 0x0040,
  NOOUTPUT: 0x0080,
  INACTIVE: 0x0100,
  OUT_SEQ: 0x0200,
  IN_SEQ: 0x0400,
  NO_CPORT: 0x0800,
  TEMPLATE: 0x1000,
  ONE_PACKET: 0x2000,
  /**
   * tunvs-internal (never synced): replies come from the destination's own address and
   * port (NAT, local) and are looked up by them; without it by the VIP and virtual port.
   */
  REPLY_FROM_DEST: 0x0010,
} as const;
