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
import { MasqForwarder } from '@tunvs/forwarder-nat';
import { TunnelForwarder, ipipEncap } from '@tunvs/forwarder-tunnel';
import { DEFAULT_METHOD, Fwd, methodByName } from '@tunvs/model';
import type { Dest, DestSpec } from '@tunvs/model';
import { fail } from './errors.js';

/** Largest forwarder index a connection can hold. */
export const MAX_FORWARDERS = 256;

export class ForwarderTable {
  private readonly list: Forwarder[] = [];

  constructor(private readonly link: LinkFacts) {
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

  /** Bind an added or edited destination to its forwarder: its connections from now on use it. */
  bind(dest: Dest): void {
    // one tunnel forwarder: it reads the destination's tunnel type per packet, as the kernel
    dest.xmit = dest.fwd;
  }
}
