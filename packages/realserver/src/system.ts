/**
 * Host configuration for a real server (control plane; shells out to `ip`, `nft` and
 * writes /proc/sys). Everything acts in the caller's network namespace.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

/** Write one sysctl (`net.ipv4.conf.eth0.rp_filter`, 0); `optional` skips a missing key. */
export function setSysctl(key: string, value: number | string, optional = false): void {
  const f = `/proc/sys/${key.replace(/\./g, '/')}`;
  if (optional && !existsSync(f)) return;
  writeFileSync(f, `${value}\n`);
}

/** Read one sysctl as a string (trimmed), or null when it does not exist. */
export function getSysctl(key: string): string | null {
  const f = `/proc/sys/${key.replace(/\./g, '/')}`;
  try {
    return readFileSync(f, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The IPv4 addresses of an interface, dotted quads. */
export function interfaceAddrs(ifname: string): string[] {
  const out = run('ip', ['-j', '-4', 'addr', 'show', 'dev', ifname]);
  const j = JSON.parse(out || '[]') as Array<{ addr_info?: Array<{ local?: string; family?: string }> }>;
  const addrs: string[] = [];
  for (const l of j) for (const a of l.addr_info ?? []) if (a.local) addrs.push(a.local);
  return addrs;
}

/** Bring an interface up. */
export function linkUp(ifname: string): void {
  run('ip', ['link', 'set', 'dev', ifname, 'up']);
}

/**
 * Make the TUN device accept decapsulated packets. Reverse-path filtering must be off on
 * it: the inner source (the client) is routed via the NIC, and the kernel rejects packets
 * from an interface without an IPv4 address in both strict and loose mode. The effective
 * value is max(all, dev), so `all` must be 0 too; when it is not, every existing interface
 * whose own value is lower is first raised to the old `all` value, so their effective
 * filtering does not change. IPv6 is disabled on the TUN (no router solicitations into it).
 * Returns the sysctls changed, as `key=old->new` strings, for the log.
 */
export function prepareTun(tun: string): string[] {
  const changed: string[] = [];
  const set = (key: string, v: number): void => {
    const old = getSysctl(key);
    if (old === null || Number(old) === v) return;
    setSysctl(key, v);
    changed.push(`${key}=${old}->${v}`);
  };
  const all = Number(getSysctl('net.ipv4.conf.all.rp_filter') ?? '0');
  if (all !== 0) {
    for (const dev of readdirSync('/proc/sys/net/ipv4/conf')) {
      if (dev === 'all' || dev === tun) continue;
      const own = Number(getSysctl(`net.ipv4.conf.${dev}.rp_filter`) ?? '0');
      if (own < all) set(`net.ipv4.conf.${dev}.rp_filter`, all);
    }
    set('net.ipv4.conf.all.rp_filter', 0);
  }
  // Written even when already 0: an explicit write stops later changes of `default` from
  // propagating to the device (the kernel copies `default` to values never set by hand).
  const tunKey = `net.ipv4.conf.${tun}.rp_filter`;
  const oldTun = getSysctl(tunKey);
  setSysctl(tunKey, 0);
  if (oldTun !== '0') changed.push(`${tunKey}=${oldTun}->0`);
  if (getSysctl(`net.ipv6.conf.${tun}.disable_ipv6`) !== null) set(`net.ipv6.conf.${tun}.disable_ipv6`, 1);
  return changed;
}

/**
 * LVS-DR/TUN real-server set-up: VIP/32 on `lo`, and ARP kept quiet about it
 * (arp_ignore=1: answer only for addresses on the receiving interface; arp_announce=2:
 * always use the best local address of the outgoing interface as the ARP source).
 * Idempotent (an existing VIP is left alone).
 */
export function setupVip(vip: string, ifname: string): void {
  for (const i of ['all', ifname]) {
    setSysctl(`net.ipv4.conf.${i}.arp_ignore`, 1);
    setSysctl(`net.ipv4.conf.${i}.arp_announce`, 2);
  }
  const have = interfaceAddrs('lo');
  if (!have.includes(vip)) run('ip', ['addr', 'add', `${vip}/32`, 'dev', 'lo']);
}

/** The nftables table name used for the interface (one per instance). */
export function nftTableName(ifname: string): string {
  return `tunvs_rs_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * The nftables ruleset that keeps the kernel silent about the tunnels: the stack has no
 * handler for protocol 4 (IPIP) or 47 (GRE), nor a socket on the GUE ports, and would
 * answer every tunnelled packet with an ICMP protocol or port unreachable; dropping them
 * in the input hook stops that, while the capture (a packet tap, which runs before
 * netfilter) still sees the packets.
 */
export function nftRuleset(ifname: string, guePorts: readonly number[] = []): string {
  const t = nftTableName(ifname);
  // Create-then-delete first so that loading is idempotent (a stale table from a crash).
  return [
    `table ip ${t} {}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname "${ifname}" ip protocol 4 counter drop comment "tunvs-realserver: IPIP is decapsulated in userspace"`,
    `    iifname "${ifname}" ip protocol 47 counter drop comment "tunvs-realserver: GRE is decapsulated in userspace"`,
    ...(guePorts.length > 0
      ? [`    iifname "${ifname}" udp dport { ${guePorts.join(', ')} } counter drop comment "tunvs-realserver: GUE is decapsulated in userspace"`]
      : []),
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** Install the tunnel drop rules for `ifname` (idempotent). */
export function installNftRule(ifname: string, guePorts: readonly number[] = []): void {
  run('nft', ['-f', '-'], nftRuleset(ifname, guePorts));
}

/** The capture filter for the tunnels: IPIP, GRE, and UDP to the GUE ports. */
export function captureFilter(guePorts: readonly number[]): string {
  const f = ['ip proto 4', 'ip proto 47'];
  for (const p of guePorts) f.push(`(udp dst port ${p})`);
  return f.join(' or ');
}

/** Remove the IPIP drop rule for `ifname`; no error when it is not there. */
export function removeNftRule(ifname: string): void {
  try {
    run('nft', ['delete', 'table', 'ip', nftTableName(ifname)]);
  } catch {
    /* already gone */
  }
}
