// The lab's topology as data: every name, address and MAC the lab creates, computed from
// (method, servers, clients). `scripts/lab status --json` prints this object (plus live
// state), so tests and the demo read addresses from here instead of hard-coding them.
//
// MAC scheme (deterministic): 02:0S:0a:0a:NN:HH
//   S  = 0 for the interface that owns the address (client/rs eth0, director lan0/br-lan/br-rs,
//        the director's userspace MAC in DR), 1 for a director-side bridge port of a veth
//   NN = subnet (0 = 10.10.0.0/24, 1 = 10.10.1.0/24), HH = the host octet it belongs to.

/**
 * Namespace-name prefix of everything the lab makes: `lvs-` unless TUNVS_LAB_PREFIX names
 * another (letters, digits and '-', ending in '-'), so two labs can run side by side.
 */
export const PREFIX = labPrefix(process.env.TUNVS_LAB_PREFIX);
/** Where pidfiles, logs and the state file live (one directory per prefix). */
export const RUN_DIR = PREFIX === 'lvs-' ? '/run/tunvs-lab' : `/run/tunvs-lab-${PREFIX.slice(0, -1)}`;

function labPrefix(v) {
  if (v === undefined || v === '') return 'lvs-';
  if (!/^[a-z][a-z0-9-]{0,8}-$/.test(v)) throw new Error(`TUNVS_LAB_PREFIX '${v}': 2-10 characters [a-z0-9-], starting with a letter and ending in '-'`);
  return v;
}
export const STATE_FILE = `${RUN_DIR}/state.json`;
export const VIP = '10.10.0.100';
export const HTTP_PORT = 80;
export const UDP_ECHO_PORT = 7;
/** The UDP port tun-method real servers take GUE on (`--tun-type gue --tun-port 6080`). */
export const GUE_PORT = 6080;
export const METHODS = ['nat', 'dr', 'tun'];
/**
 * How the director reaches the wire: `tuntap` (a TUN device for nat/tun, a TAP device on
 * br-lan for dr), or a kernel-bypass link on a veth the lab makes (`xdp`: AF_XDP, `packet`:
 * AF_PACKET): the director owns its end (`tunvs0`, no kernel address) and its addresses
 * in userspace; the other end (`tunvs0p`) is a port of the servers' bridge (nat/tun) or of
 * br-lan (dr).
 */
export const LINKS = ['tuntap', 'xdp', 'packet'];
/**
 * `--two-if` (nat on an xdp/packet link): the director owns two veths, `tunvs1` on the
 * clients' bridge (10.10.0.1, the VIP's subnet) and `tunvs0` on the servers' bridge
 * (10.10.1.1, the servers' gateway); no kernel address on either bridge and ip_forward 0 in
 * its namespace: tunvsd itself carries every packet from one wire to the other.
 */
export const MAX_SERVERS = 50;
export const MAX_CLIENTS = 8;

const hex = (n) => n.toString(16).padStart(2, '0');
/** Deterministic MAC: side 0 = address owner, 1 = director-side bridge port. */
export const mac = (side, subnet, host) => `02:${hex(side)}:0a:0a:${hex(subnet)}:${hex(host)}`;

/** Build the topology object for a method, counts and link (validated). */
export function buildTopology(method, nServers, nClients, link = 'tuntap', twoIf = false) {
  if (!METHODS.includes(method)) throw new Error(`unknown method '${method}' (nat, dr or tun)`);
  if (!LINKS.includes(link)) throw new Error(`unknown link '${link}' (tuntap, xdp or packet)`);
  if (twoIf && link === 'tuntap') throw new Error('--two-if needs --link xdp or --link packet (the director owns two existing interfaces)');
  if (twoIf && method !== 'nat') {
    throw new Error(`--two-if is for --method nat: with ${method} the real servers answer the clients directly, which needs a router between the two segments that the lab does not build`);
  }
  if (!Number.isInteger(nServers) || nServers < 1 || nServers > MAX_SERVERS)
    throw new Error(`--servers must be 1..${MAX_SERVERS}`);
  if (!Number.isInteger(nClients) || nClients < 1 || nClients > MAX_CLIENTS)
    throw new Error(`--clients must be 1..${MAX_CLIENTS}`);
  const l2 = method === 'dr';
  const rsSubnet = l2 ? 0 : 1;
  const dirNs = `${PREFIX}dir`;

  let lan;
  if (l2 || twoIf) lan = { ifname: 'br-lan', kind: 'bridge', addr: null, mac: mac(1, 0, 0xfe) };
  else if (nClients === 1) lan = { ifname: 'lan0', kind: 'veth', addr: '10.10.0.1/24', mac: mac(0, 0, 1) };
  else lan = { ifname: 'br-lan', kind: 'bridge', addr: '10.10.0.1/24', mac: mac(0, 0, 1) };

  const clients = [];
  for (let k = 1; k <= nClients; k++) {
    const host = 1 + k;
    const direct = !l2 && !twoIf && nClients === 1;
    clients.push({
      name: `client${k}`,
      ns: `${PREFIX}client${k}`,
      ifname: 'eth0',
      ip: `10.10.0.${host}`,
      prefixLen: 24,
      mac: mac(0, 0, host),
      gateway: '10.10.0.1',
      peer: direct
        ? { ns: dirNs, ifname: 'lan0', mac: lan.mac, bridge: null }
        : { ns: dirNs, ifname: `vc${k}`, mac: mac(1, 0, host), bridge: 'br-lan' },
    });
  }

  const bypass = link !== 'tuntap';
  // nat/tun on a bypass link: the director's own address on the servers' subnet (the kernel
  // routes the VIP to it); dr: it owns the DIP on br-lan as the TAP director does
  const ownAddr = bypass ? (l2 || twoIf ? (twoIf ? '10.10.1.1' : '10.10.0.1') : '10.10.1.2') : null;
  const servers = [];
  for (let i = 1; i <= nServers; i++) {
    const host = 10 + i;
    servers.push({
      name: `rs${i}`,
      ns: `${PREFIX}rs${i}`,
      ifname: 'eth0',
      ip: `10.10.${rsSubnet}.${host}`,
      prefixLen: 24,
      mac: mac(0, rsSubnet, host),
      // NAT replies must pass the director: through the kernel's policy route into the TUN,
      // or straight to the director's own address on a bypass link
      gateway: l2 ? '10.10.0.1' : bypass && method === 'nat' ? ownAddr : '10.10.1.1',
      vipOnLo: method !== 'nat',
      realserver: method === 'tun' ? { tun: 'tunvs-rs0', guePort: GUE_PORT } : null,
      peer: { ns: dirNs, ifname: `vrs${i}`, mac: mac(1, rsSubnet, host), bridge: l2 ? 'br-lan' : 'br-rs' },
    });
  }

  const director = {
    ns: dirNs,
    link,
    device: 'tunvs0',
    deviceKind: bypass ? link : l2 ? 'tap' : 'tun',
    // DR: the kernel side of the TAP is only a bridge port; the director process owns
    // DIP and VIP in userspace with `mac` (it answers ARP for both itself). On a bypass link
    // `deviceMac` is the veth's own MAC (the director's) and `peer` its kernel-side end.
    deviceMac: bypass ? (l2 ? mac(0, 0, 1) : twoIf ? mac(0, 1, 1) : mac(0, 1, 2)) : l2 ? mac(1, 0, 1) : null,
    peer: bypass ? { ifname: 'tunvs0p', mac: l2 ? mac(1, 0, 1) : twoIf ? mac(1, 1, 1) : mac(1, 1, 2), bridge: l2 ? 'br-lan' : 'br-rs' } : null,
    // --two-if: the client side interface (the device above faces the servers)
    clientSide: twoIf ? { ifname: 'tunvs1', mac: mac(0, 0, 1), peer: { ifname: 'tunvs1p', mac: mac(1, 0, 1), bridge: 'br-lan' } } : null,
    dip: '10.10.0.1',
    mac: l2 || bypass ? (l2 ? mac(0, 0, 1) : twoIf ? mac(0, 1, 1) : mac(0, 1, 2)) : null,
    lan,
    rsNet: l2 ? null : twoIf ? { ifname: 'br-rs', kind: 'bridge', addr: null, mac: mac(1, 1, 0xfe) } : { ifname: 'br-rs', kind: 'bridge', addr: '10.10.1.1/24', mac: mac(0, 1, 1) },
    vipRoute: l2 || twoIf ? null : bypass ? `${VIP}/32 via ${ownAddr} dev br-rs` : `${VIP}/32 dev tunvs0`,
    policyRouting: method === 'nat' && !bypass ? { rule: 'iif br-rs lookup 100', table: 100, route: 'default dev tunvs0' } : null,
    // what tunvsd needs: its configuration's `device` and `sourceAddress`
    tunvsd: {
      device: twoIf
        ? { name: 'tunvs1', kind: link, addresses: ['10.10.0.1/24'], interfaces: [{ name: 'tunvs0', addresses: [`${ownAddr}/24`] }] }
        : bypass
        ? { name: 'tunvs0', kind: link, addresses: [`${ownAddr}/24`], ...(l2 ? {} : { gateway: '10.10.1.1' }) }
        : l2
          ? { name: 'tunvs0', kind: 'tap', mac: mac(0, 0, 1), addresses: ['10.10.0.1/24'] }
          : { name: 'tunvs0', kind: 'tun' },
      sourceAddress: bypass ? ownAddr : l2 ? '10.10.0.1' : '10.10.1.1',
    },
  };

  return {
    method,
    link,
    twoIf,
    vip: VIP,
    ports: { http: HTTP_PORT, udpEcho: UDP_ECHO_PORT },
    clientNet: '10.10.0.0/24',
    rsNet: l2 ? '10.10.0.0/24' : '10.10.1.0/24',
    director,
    clients,
    servers,
    namespaces: [dirNs, ...clients.map((c) => c.ns), ...servers.map((s) => s.ns)],
    runDir: RUN_DIR,
  };
}
