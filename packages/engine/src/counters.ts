/**
 * The Director's named counters: every packet that is not forwarded is counted under
 * exactly one reason. Plain numeric fields on one object (no string-keyed increments on
 * the packet path: code writes `c.noService++`).
 */
import { doubleCounters } from '@tunvs/model';
import { REASON_COUNT, reasonName } from '@tunvs/packet';

export class DirectorCounters {
  /** packets handled (all directions) */
  rxPackets = 0;
  /** packets written */
  txPackets = 0;
  /** packets queued for ARP resolution */
  arpQueued = 0;
  /** frames the parser (`classifyFrame`) refused: one counter per ParseReason */
  readonly malformed = new Float64Array(REASON_COUNT);
  /** TAP frames addressed to another MAC */
  notForUs = 0;
  /** to an address a VRRP instance holds as backup (the master's): not forwarded, not answered */
  vrrpBackup = 0;
  /** unsupported protocol for a VIP (not TCP/UDP/ICMP) */
  unsupportedProto = 0;
  /** no service matches the packet and no connection exists */
  noService = 0;
  /** a TCP segment other than SYN for an unknown connection */
  notSyn = 0;
  /** an SCTP packet whose first chunk is not INIT for an unknown association (sctp_conn_schedule) */
  notInit = 0;
  /** scheduler had no destination (ICMP port unreachable sent) */
  noDest = 0;
  /** the packet may not be scheduled for this service (port, FTP data, ...) */
  notScheduled = 0;
  /** the connection table is full */
  tableFull = 0;
  /** a new connection dropped by the drop_packet defence (before scheduling) */
  defenseDrop = 0;
  /** the connection's destination was removed (expire_nodest_conn = 0) */
  destUnavailable = 0;
  /** TTL expired (ICMP time exceeded sent) */
  ttlExceeded = 0;
  /** DF packet too big for the path (ICMP fragmentation needed sent) */
  fragNeeded = 0;
  /** no route / next hop (TAP) */
  noRoute = 0;
  /** an encapsulated packet would have exceeded 65535 bytes */
  encapTooBig = 0;
  /** a tunnelled packet dropped: the path MTU less the tunnel's headers is under 68 */
  tunnelMtuTooSmall = 0;
  /** a GSO super-packet the tunnel could not segment: gso_size 0 or absurd, gso_type not the packet's protocol, no room for payload */
  gsoBad = 0;
  /** a GSO super-packet of a kind not segmented in software (UFO), for a tunnel */
  gsoUnsupported = 0;
  /** fragments that could not be matched to a flow in time or over the cap */
  fragDropped = 0;
  /** fragments forwarded */
  fragForwarded = 0;
  /** fragments the director cut from packets it built over the link MTU without DF (outer IPIP) */
  fragCreated = 0;
  /** ICMP errors relayed for tracked connections */
  icmpRelayed = 0;
  /** ICMP errors about unknown flows, or ICMP we do not handle */
  icmpIgnored = 0;
  /** ICMP messages generated (unreachable, time exceeded, frag needed, echo replies) */
  icmpSent = 0;
  /** ARP replies sent */
  arpReplies = 0;
  /** transmit slab full: packet dropped (each segment of a super-packet the tunnel could not send) */
  txSlabFull = 0;

  constructor() {
    // rxPackets and txPackets pass 2^31 within hours: double fields from the start
    doubleCounters(this);
  }

  /** Total malformed packets. */
  get malformedTotal(): number {
    let n = 0;
    for (const v of this.malformed) n += v;
    return n;
  }

  /** A plain object of every non-zero counter, for listings and logs. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) {
      if (typeof v === 'number') out[k] = v;
    }
    for (let i = 1; i < this.malformed.length; i++) {
      if (this.malformed[i]! > 0) out['malformed.' + reasonName(i)] = this.malformed[i]!;
    }
    return out;
  }
}
