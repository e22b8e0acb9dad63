/**
 * Local delivery: the real server is a service on the director itself. A userspace
 * director hands packets to its host's stack by writing them back into the device with
 * the destination rewritten to the local service's address and port (the destination's
 * address, one of the host's own); replies from that service come back through the
 * device (policy routing: `ip rule add from ADDR lookup <table with default dev TUN>`)
 * and are un-NATed like NAT replies. So this is NAT toward a local address, kept as its
 * own method so that listings say `Local`.
 */
import { natInbound } from '@tunvs/forwarder-nat';

/** Rewrite a client packet for the local service at `addr:port`. */
export function localInbound(buf: Uint8Array, ip: number, addr: number, port: number, partial = false): void {
  natInbound(buf, ip, addr, port, partial);
}
