/**
 * The firewall-mark classifier: a TUN/TAP director sees no netfilter marks, so tunvs
 * assigns them itself, like `iptables -t mangle -A PREROUTING -p tcp -d VIP --dport 80
 * -j MARK --set-mark 1`. Rules are checked in order, first match wins; only new flows
 * are classified (existing connections are found by their addresses).
 */
import { Proto } from '@tunvs/model';

export interface MarkRule {
  /** the mark to set, 1..2^32-1 */
  mark: number;
  /** 'tcp', 'udp' or 'all' (default all) */
  protocol?: 'tcp' | 'udp' | 'all';
  /** destination network as uint32 and prefix length (default any) */
  daddr?: number;
  prefix?: number;
  /** destination port range, inclusive (default any) */
  portFrom?: number;
  portTo?: number;
}

interface CompiledRule {
  mark: number;
  proto: number;
  net: number;
  mask: number;
  lo: number;
  hi: number;
}

export class MarkClassifier {
  private rules: CompiledRule[] = [];

  constructor(rules: MarkRule[] = []) {
    this.set(rules);
  }

  /** Replace the rule list. */
  set(rules: MarkRule[]): void {
    this.rules = rules.map((r) => {
      if (!Number.isInteger(r.mark) || r.mark < 1 || r.mark > 0xffffffff) throw new Error(`invalid fwmark ${r.mark}`);
      const prefix = r.daddr === undefined ? 0 : (r.prefix ?? 32);
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      return {
        mark: r.mark >>> 0,
        proto: r.protocol === 'tcp' ? Proto.TCP : r.protocol === 'udp' ? Proto.UDP : 0,
        net: ((r.daddr ?? 0) & mask) >>> 0,
        mask,
        lo: r.portFrom ?? 0,
        hi: r.portTo ?? r.portFrom ?? 65535,
      };
    });
  }

  get size(): number {
    return this.rules.length;
  }

  /** The mark for a new flow, 0 when no rule matches. */
  classify(proto: number, daddr: number, dport: number): number {
    const rs = this.rules;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (r.proto !== 0 && r.proto !== proto) continue;
      if (((daddr & r.mask) >>> 0) !== r.net) continue;
      if (dport < r.lo || dport > r.hi) continue;
      return r.mark;
    }
    return 0;
  }
}
