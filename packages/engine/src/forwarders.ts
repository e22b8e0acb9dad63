/**
 * The forwarder table of a director: index -> forwarding method ops object. A
 * destination is bound to an index when it is added or edited (`Dest.xmit`); every new
 * connection copies it (`ConnTable.xmit`), and the per-packet path calls the forwarder at
 * that index: the method is decided once per connection, never per packet.
 *
 * Indices 0..4 are the methods' own forwarders, by their Fwd number. Parameterised
 * forwarders (a tunnel over another encapsulation, masquerading with an application
 * helper) get the indices after them, up to 255.
 */
import type { Forwarder, LinkFacts } from '@tunvs/forwarder';
import { BypassForwarder } from '@tunvs/forwarder-bypass';
import { DrouteForwarder } from '@tunvs/forwarder-dr';
import { LocalForwarder } from '@tunvs/forwarder-local';
import { FTP_DEFAULT_PORTS, FtpMasqForwarder, MasqForwarder } from '@tunvs/forwarder-nat';
import { TunnelForwarder, ipipEncap } from '@tunvs/forwarder-tunnel';
import { DEFAULT_METHOD, Fwd, ftpHelperBinds, methodByName } from '@tunvs/model';
import type { Dest, DestSpec } from '@tunvs/model';
import { fail } from './errors.js';

/** Largest forwarder index a connection can hold. */
export const MAX_FORWARDERS = 256;

/** Index of masquerading with the FTP helper (the first after the methods' own). */
export const FTP_XMIT = 5;

/**
 * Why a director on a link with these facts could not carry `method` (a destination's
 * forwarding method name), or null: the forwarders' own rule (`refuse`, what `admit`
 * applies), for a configuration checked before a director runs on it.
 */
export function methodRefusal(method: string, link: LinkFacts): string | null {
  const m = methodByName(method);
  return m === undefined ? null : new ForwarderTable(link).at(m.fwd).refuse(link);
}

export class ForwarderTable {
  private readonly list: Forwarder[] = [];
  /** masquerading with the FTP helper, bound to NAT destinations of TCP services on its ports */
  readonly ftp: FtpMasqForwarder;
  private readonly hasFtpPort = (port: number): boolean => this.ftp.hasPort(port);

  constructor(private readonly link: LinkFacts, ftpPorts: readonly number[] = FTP_DEFAULT_PORTS) {
    this.ftp = new FtpMasqForwarder(ftpPorts);
    this.list[FTP_XMIT] = this.ftp;
    this.list[Fwd.MASQ] = new MasqForwarder();
    this.list[Fwd.LOCALNODE] = new LocalForwarder();
    this.list[Fwd.TUNNEL] = new TunnelForwarder(ipipEncap);
    this.list[Fwd.DROUTE] = new DrouteForwarder();
    this.list[Fwd.BYPASS] = new BypassForwarder();
  }

  /** The forwarder at index `i` (a connection's `xmit`). */
  at(i: number): Forwarder {
    return this.list[i]!;
  }

  /** Number of forwarders. */
  get size(): number {
    return this.list.length;
  }

  /**
   * Check a destination before it is added or edited: ControlError EINVAL, with the
   * reason, when this director cannot carry its method (direct routing on a TUN device,
   * a tunnel without an address of our own).
   */
  admit(spec: DestSpec, op: string): void {
    const m = methodByName(spec.method ?? DEFAULT_METHOD);
    if (m === undefined) return; // the service table names the unknown method
    const why = this.list[m.fwd]!.refuse(this.link);
    if (why !== null) fail('EINVAL', op, why);
  }

  /**
   * Bind an added or edited destination to its forwarder: its connections from now on use
   * it. A NAT destination of a TCP service whose port is one of the FTP helper's gets
   * masquerading with the helper (the kernel's `tcp_app_conn_bind`); fwmark and port-0
   * services have no port to match and get plain masquerading.
   */
  bind(dest: Dest): void {
    const svc = dest.service;
    const ftp = svc !== null && ftpHelperBinds(dest.fwd, svc, this.hasFtpPort);
    // tunnels: one forwarder, which reads the destination's tunnel type per packet, as the kernel
    dest.xmit = ftp ? FTP_XMIT : dest.fwd;
  }

  /**
   * Change the FTP helper's ports (`modprobe ip_vs_ftp ports=...`): destinations are bound
   * again, so connections created from now on follow the new list (existing ones keep
   * the forwarder they were created with, as the kernel's keep their app).
   */
  setFtpPorts(ports: readonly number[], dests: Iterable<Dest>): void {
    this.ftp.setPorts(ports);
    for (const d of dests) this.bind(d);
  }

}
