/**
 * Red Hat Piranha's redundancy (pulse, lvs.cf) as one keepalived vrrp_instance, for
 * `tunvsd --import-lvs-cf`:
 *
 *   primary / backup           the two routers; this router's address is unicast_src_ip and
 *                              the other's the one unicast_peer (pulse sent its heartbeats by
 *                              unicast UDP to the partner); primary priority 150, backup 100
 *   backup_active = 0          the backup takes no part: the primary becomes the address
 *                              owner (priority 255) and holds the VIPs alone
 *   keepalive                  advert_int (whole seconds: VRRPv2)
 *   deadtime                   down_timer_adverts, so that Master_Down_Interval
 *                              (down_timer_adverts x advert_int + skew) comes as close to
 *                              deadtime as it can (non-standard: both routers need it, and
 *                              both get it, since both import the same lvs.cf)
 *   heartbeat_port             no equivalent: VRRP is IP protocol 112, not UDP
 *   network = nat, nat_router  the real servers' gateway address moves with the VIPs: it
 *                              becomes one more virtual_ipaddress on its device
 *   virtual ... address        every VIP, with its device and alias label
 *   send_arp after takeover    gratuitous ARP on becoming master (keepalived's defaults: 5
 *                              now, 5 more after 5 s)
 *
 * What pulse did that VRRP does differently: a returning primary did not take the VIPs back
 * (both routers get `nopreempt` here); pulse had no priorities, no multicast and no VIP list
 * on the wire; pulse declared the partner dead after `deadtime` of silence where VRRP uses
 * 3 (here down_timer_adverts) advert intervals plus a skew that favours the higher
 * priority; pulse could run lvsd on both if both said "running" and then stopped the
 * backup's, where VRRP resolves two masters by priority, then address.
 */

/** Which of the two routers this configuration is for. */
export type PiranhaRole = 'primary' | 'backup';

/** A `virtual` block of lvs.cf, as key = value pairs. */
export type LvsCfKeys = ReadonlyMap<string, string>;

function maskToPrefix(mask: string | undefined): number | null {
  if (!mask) return null;
  const p = mask.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return null;
  const n = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  let bits = 0;
  while (bits < 32 && n & (0x80000000 >>> bits)) bits++;
  return ((n << bits) >>> 0) === 0 ? bits : null;
}

/** `IP dev:alias` with an optional netmask, as a virtual_ipaddress line. */
function vipLine(address: string, mask: string | undefined): { line: string; dev: string | null } | null {
  const [ip, devAlias] = address.trim().split(/\s+/);
  if (!ip) return null;
  const prefix = maskToPrefix(mask) ?? 32;
  const dev = devAlias ? devAlias.split(':')[0]! : null;
  let line = `${ip}/${prefix}`;
  if (dev) line += ` dev ${dev}`;
  if (devAlias && devAlias.includes(':')) line += ` label ${devAlias}`;
  return { line, dev };
}

/** The vrrp_instance (and comments) for Piranha's redundancy settings. */
export function piranhaVrrp(global: LvsCfKeys, virtuals: readonly LvsCfKeys[], role: PiranhaRole): string[] {
  const out: string[] = [];
  const primary = global.get('primary');
  const backup = global.get('backup');
  const backupActive = global.get('backup_active') === '1';
  const heartbeat = global.get('heartbeat') ?? '1';
  const keepalive = Math.min(255, Math.max(1, Math.round(Number(global.get('keepalive') ?? '2')) || 2));
  const deadtime = Number(global.get('deadtime') ?? '5') || 5;
  const network = (global.get('network') ?? 'nat').toLowerCase();

  const vips: string[] = [];
  let iface: string | null = null;
  for (const v of virtuals) {
    if (v.get('active') === '0') continue;
    const x = vipLine(v.get('address') ?? '', v.get('vip_nmask'));
    if (!x) continue;
    if (!vips.includes(x.line)) vips.push(x.line);
    iface ??= x.dev;
  }
  if (network === 'nat' && global.get('nat_router')) {
    const x = vipLine(global.get('nat_router')!, global.get('nat_nmask'));
    if (x) vips.push(`${x.line}   # nat_router: the real servers' gateway moves with the VIPs`);
  }
  iface ??= 'eth0';

  out.push('! --- redundancy (pulse) as VRRP: see tunvs README "Piranha" for what differs');
  if (heartbeat === '0' && backupActive) out.push('! heartbeat = 0 in lvs.cf: pulse had no failover; VRRP below provides it');
  out.push(`! heartbeat_port ${global.get('heartbeat_port') ?? '539'} has no VRRP equivalent: VRRP is IP protocol 112`);
  if (global.get('primary_private') || global.get('backup_private')) {
    out.push('! primary_private/backup_private: pulse sent heartbeats on a second network too; VRRP uses one interface per instance');
  }
  if (!backupActive) {
    if (role === 'backup') {
      out.push('! backup_active = 0: this backup router takes no part; no VRRP instance', '');
      return out;
    }
    out.push('! backup_active = 0: no backup router; the primary owns the VIPs (priority 255)');
    out.push('vrrp_instance LVS {', '    state MASTER', `    interface ${iface}`, '    virtual_router_id 51', '    priority 255', `    advert_int ${keepalive}`);
  } else {
    const prio = role === 'primary' ? 150 : 100;
    const skew = (256 - prio) / 256;
    const adverts = Math.min(100, Math.max(1, Math.round((deadtime - skew) / keepalive)));
    const md = adverts * keepalive + skew;
    out.push(
      `! keepalive ${keepalive} s -> advert_int ${keepalive}; deadtime ${deadtime} s -> down_timer_adverts ${adverts}`,
      `!   (this router takes over ${md.toFixed(3)} s after the last advert of the other)`,
      '! pulse did not hand the VIPs back to a returning primary: nopreempt on both routers',
      'vrrp_instance LVS {',
      '    state BACKUP',
      '    nopreempt',
      `    interface ${iface}`,
      '    virtual_router_id 51',
      `    priority ${prio}`,
      `    advert_int ${keepalive}`,
    );
    if (adverts !== 3) out.push(`    down_timer_adverts ${adverts}`);
    const self = role === 'primary' ? primary : backup;
    const peer = role === 'primary' ? backup : primary;
    if (self && peer) out.push(`    unicast_src_ip ${self}`, '    unicast_peer {', `        ${peer}`, '    }');
  }
  out.push('    virtual_ipaddress {', ...vips.map((v) => `        ${v}`), '    }', '}', '');
  return out;
}

/** This router's role: the lvs.cf address it has (`primary`/`backup`), else primary. */
export function piranhaRole(global: LvsCfKeys, hostAddresses: readonly string[]): PiranhaRole {
  const b = global.get('backup');
  const bp = global.get('backup_private');
  if ((b && hostAddresses.includes(b)) || (bp && hostAddresses.includes(bp))) return 'backup';
  return 'primary';
}
