/**
 * The XDP steering program, generated as eBPF instructions (see asm.ts).
 *
 * For each frame on the interface it decides: the director's (redirect into the AF_XDP
 * socket of (arrival queue, slot)) or not (XDP_PASS: the kernel handles it as usual).
 *
 *   Ethernet (+ one 802.1Q tag)
 *   ├─ ARP whose target address has AddrFlag.Arp               -> slot 0
 *   ├─ IPv4, not a fragment
 *   │   ├─ TCP/UDP/SCTP: ports; ICMP errors: the quoted packet (below);
 *   │   │  VRRP (112): destination port = the VRID (byte 1 of its header), source port 0
 *   │   ├─ (daddr, dport, proto) or (daddr, 0, proto) in vips     -> client = (saddr, sport)
 *   │   ├─ daddr has AddrFlag.Host                               -> pass
 *   │   └─ (saddr, sport, proto) or (saddr, 0, proto) in reals    -> client = (daddr, dport)
 *   ├─ IPv4 ICMP error (3, 4, 11, 12) quoting (isaddr:isport -> idaddr:idport)
 *   │   ├─ (isaddr, isport, proto) in vips (we sent it to a client) -> client = (idaddr, idport)
 *   │   └─ (idaddr, idport, proto) in reals (we sent it to a server) -> client = (isaddr, isport)
 *   ├─ IPv4 fragment (MF or offset)
 *   │   ├─ the first of TCP/UDP/SCTP (offset 0, it has the ports): as a whole packet (above),
 *   │   │  and its slot kept in frags[(saddr, daddr, id, proto)]  (xdp and fanout forms)
 *   │   ├─ a later one whose datagram is in frags                -> that slot (xdp, fanout)
 *   │   ├─ daddr has AddrFlag.Vip                                -> client = (saddr, 0)
 *   │   └─ saddr has AddrFlag.Real (and daddr not Host)          -> client = (daddr, 0)
 *   └─ anything else                                             -> pass
 *
 * So the fragments of a datagram go where its flow goes (the Director tracks them on the
 * worker that holds the connection), as long as the first comes first; a later fragment
 * that overtakes it is steered by address, as every fragment was before the frags map.
 *
 * slot = (clientHash(addr, port) * slots) >> 32, port 0 when the entry has
 * EndpointFlag.AddrOnly, and then the address's low HostBits bits cleared (clientPrefix);
 * socket index = rx_queue_index * slots + slot. A redirect to an index with no socket
 * falls back to XDP_PASS (bpf_redirect_map's flags argument).
 *
 * Byte order: the program loads addresses and ports as the packet has them; map keys
 * are in network order (steer.ts builds them so) and the hash converts to host order
 * first, so it equals `clientHash` in steer.ts. Values are little-endian u32: the package
 * refuses to run on big-endian machines.
 */
import { Asm, FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9 } from './asm.js';
import { AddrFlag, EndpointFlag, HASH_K1, HASH_K2, Stat, VRRP_PROTO } from '../steer.js';

/** bpf(2) map types and helpers used here. */
export const MapType = { Hash: 1, Array: 2, PercpuArray: 6, LruHash: 9, Xskmap: 17 } as const;
export const Helper = { mapLookupElem: 1, mapUpdateElem: 2, skbLoadBytes: 26, redirectMap: 51, skbLoadBytesRelative: 68 } as const;
export const XdpAction = { Aborted: 0, Drop: 1, Pass: 2, Tx: 3, Redirect: 4 } as const;
/** BPF_PROG_TYPE_XDP */
export const PROG_TYPE_XDP = 6;
/** BPF_PROG_TYPE_SOCKET_FILTER (AF_PACKET filters and PACKET_FANOUT_EBPF programs) */
export const PROG_TYPE_SOCKET_FILTER = 1;
/** bpf_skb_load_bytes_relative: offsets from the MAC header */
const BPF_HDR_START_MAC = 0;
/** what a socket filter returns to keep a whole frame */
export const FILTER_KEEP = 0x40000;

/**
 * What the program is for:
 *   xdp     the XDP program: redirect into the AF_XDP socket of (queue, slot), or pass
 *   fanout  an AF_PACKET PACKET_FANOUT_EBPF program: returns the slot (the socket of the
 *           fanout group), 0 for frames that are not the director's
 *   filter  an AF_PACKET socket filter: keeps the director's frames, drops the rest (so
 *           the sockets only see what the XDP program would have redirected)
 * The skb forms copy the frame's first 160 bytes to the stack (bpf_skb_load_bytes, and the
 * Ethernet header with bpf_skb_load_bytes_relative where skb->data is past it) and parse
 * the copy with the same code.
 */
export type ProgramTarget = 'xdp' | 'fanout' | 'filter';

/** Offsets in struct xdp_md. */
const CTX_DATA = 0;
const CTX_DATA_END = 4;
const CTX_RX_QUEUE = 16;
/** Offset of `len` in struct __sk_buff. */
const SKB_LEN = 0;

/** The maps the program reads, by fd. */
export interface SteeringMaps {
  /** XSKMAP: socket index -> AF_XDP socket */
  xsks: number;
  /** HASH 8-byte endpoint key -> u32 flags: virtual services */
  vips: number;
  /** HASH 8-byte endpoint key -> u32 flags: real servers */
  reals: number;
  /** HASH 4-byte address -> u32 AddrFlag bits */
  addrs: number;
  /** PERCPU_ARRAY u32 -> u64 counters (Stat) */
  stats: number;
  /** LRU_HASH 12-byte datagram key (FRAG_KEY_LEN) -> u32 slot: where a first fragment went, for the later ones */
  frags: number;
}

/** Bytes of a frags map key: source and destination address, IP ID, protocol, a zero byte. */
export const FRAG_KEY_LEN = 12;

// stack slots (offsets from the frame pointer)
const S_QUEUE = -4;
const S_PROTO = -8;
const S_SADDR = -12;
const S_DADDR = -16;
const S_SPORT = -20;
const S_DPORT = -24;
const S_KEY = -32; // 8 bytes: addr(4) port(2) proto(1) pad(1)
const S_AKEY = -36;
const S_CKEY = -40;
const S_CADDR = -44;
const S_CPORT = -48;
const S_REASON = -52;
const S_INDEX = -56;
/** 1 while the frame is the first fragment of a datagram (its slot is remembered) */
const S_FRAG = -60;
const S_FVAL = -64;
const S_FKEY = -80; // FRAG_KEY_LEN bytes: saddr(4) daddr(4) id(2) proto(1) pad(1)
/**
 * The frame copy of the skb forms: up to 160 bytes, stored 2 bytes into an 8-aligned
 * zeroed area so that the IP header (frame offset 14) is 8-aligned: the verifier wants
 * aligned stack accesses.
 */
const BUF_LEN = 160;
const S_BUF = -88 - BUF_LEN - 8;
const BUF_SHIFT = 2;

// Ethertypes and constants as a little-endian 16-bit load of the wire bytes sees them
const ETH_IP_LE = 0x0008;
const ETH_ARP_LE = 0x0608;
const ETH_VLAN_LE = 0x0081;

/**
 * Generate the program for `slots` sockets per queue. For `fanout` and `filter`,
 * `macOffset` is where skb->data is relative to the MAC header when the program runs:
 * 14 for a fanout program (it runs after the Ethernet header was pulled), 0 for a filter.
 */
export function steeringProgram(slots: number, maps: SteeringMaps, target: ProgramTarget = 'xdp', macOffset = target === 'fanout' ? 14 : 0): Asm {
  if (!Number.isInteger(slots) || slots < 1 || slots > 1024) throw new RangeError(`slots must be 1..1024 (got ${slots})`);
  const a = new Asm();
  let uniq = 0;
  const label = (p: string): string => `${p}_${uniq++}`;

  /** if (ptr + n > data_end) goto fail */
  const bounds = (ptr: number, n: number, fail: string): void => {
    a.alu64('mov', R0, ptr).alu64('add', R0, { imm: n }).jmp('gt', R0, R6, fail);
  };
  /** r0 = lookup(map, fp + keyOff) */
  const lookup = (mapFd: number, keyOff: number): void => {
    a.ldMap(R1, mapFd).alu64('mov', R2, FP).alu64('add', R2, { imm: keyOff }).call(Helper.mapLookupElem);
  };
  /** stats[key at S_CKEY] += 1 (not in a fanout program: the filter that runs next counts) */
  const bump = (): void => {
    if (target === 'fanout') return;
    const skip = label('nocount');
    lookup(maps.stats, S_CKEY);
    a.jmp('eq', R0, { imm: 0 }, skip);
    a.ldx('dw', R1, R0, 0).alu64('add', R1, { imm: 1 }).stx('dw', R0, 0, R1);
    a.label(skip);
  };
  const countImm = (stat: number): void => {
    a.st('w', FP, S_CKEY, stat);
    bump();
  };
  /** build the endpoint key at S_KEY from three stack slots */
  const endpoint = (addrSlot: number, portSlot: number): void => {
    a.ldx('w', R3, FP, addrSlot).stx('w', FP, S_KEY, R3);
    a.ldx('w', R3, FP, portSlot).stx('h', FP, S_KEY + 4, R3);
    a.ldx('w', R3, FP, S_PROTO).stx('b', FP, S_KEY + 6, R3);
    a.st('b', FP, S_KEY + 7, 0);
  };
  /** look the key up with its port, then with port 0; goto hit with r0 = value */
  const lookupEndpoint = (mapFd: number, hit: string): void => {
    const miss = label('miss');
    lookup(mapFd, S_KEY);
    a.jmp('ne', R0, { imm: 0 }, hit);
    a.ldx('h', R3, FP, S_KEY + 4).jmp('eq', R3, { imm: 0 }, miss);
    a.st('h', FP, S_KEY + 4, 0);
    lookup(mapFd, S_KEY);
    a.jmp('ne', R0, { imm: 0 }, hit);
    a.label(miss);
  };
  /** client = (addrSlot, portSlot), flags from *r0, reason; goto steer */
  const client = (addrSlot: number, portSlot: number, reason: number, flagsFromR0: boolean): void => {
    if (flagsFromR0) a.ldx('w', R9, R0, 0);
    else a.alu64('mov', R9, { imm: 0 });
    a.ldx('w', R1, FP, addrSlot).stx('w', FP, S_CADDR, R1);
    a.ldx('w', R1, FP, portSlot).stx('w', FP, S_CPORT, R1);
    a.st('w', FP, S_REASON, reason);
    a.ja('steer');
  };
  /** r9 = addrs[slot] flags (0 when absent) */
  const addrFlags = (slot: number): void => {
    const none = label('noaddr');
    a.ldx('w', R3, FP, slot).stx('w', FP, S_AKEY, R3);
    lookup(maps.addrs, S_AKEY);
    a.alu64('mov', R9, { imm: 0 });
    a.jmp('eq', R0, { imm: 0 }, none);
    a.ldx('w', R9, R0, 0);
    a.label(none);
  };

  /** the frags map key of the datagram at r8 (its addresses and protocol already on the stack) at S_FKEY */
  const fragKey = (): void => {
    a.ldx('w', R4, FP, S_SADDR).stx('w', FP, S_FKEY, R4);
    a.ldx('w', R4, FP, S_DADDR).stx('w', FP, S_FKEY + 4, R4);
    a.ldx('h', R4, R8, 4).stx('h', FP, S_FKEY + 8, R4);
    a.ldx('w', R4, FP, S_PROTO).stx('b', FP, S_FKEY + 10, R4);
    a.st('b', FP, S_FKEY + 11, 0);
  };
  // the filter only keeps or drops (by address for fragments); the slot is the XDP and fanout programs' business
  const followFragments = target !== 'filter';

  // ---------------------------------------------------------------- entry
  if (target === 'xdp') {
    a.note('r7 = data, r6 = data_end, queue on the stack');
    a.ldx('w', R7, R1, CTX_DATA);
    a.ldx('w', R6, R1, CTX_DATA_END);
    a.ldx('w', R2, R1, CTX_RX_QUEUE).stx('w', FP, S_QUEUE, R2);
  } else {
    a.note('copy min(frame, 160) bytes from the MAC header to the stack; r7 = copy, r6 = its end');
    // bpf_skb_load_bytes reads non-linear frames too (a TCP segment's payload sits in page
    // fragments), but only from skb->data on: a fanout program runs with skb->data at the
    // network header, so its Ethernet header comes from the MAC header (always linear)
    const dst = S_BUF + BUF_SHIFT;
    a.alu64('mov', R6, R1);
    a.ldx('w', R9, R1, SKB_LEN);
    a.jmp('eq', R9, { imm: 0 }, 'short');
    for (let off = 0; off < BUF_LEN + 8; off += 8) a.st('dw', FP, S_BUF + off, 0);
    if (macOffset) {
      a.alu64('mov', R1, R6).alu64('mov', R2, { imm: 0 });
      a.alu64('mov', R3, FP).alu64('add', R3, { imm: dst });
      a.alu64('mov', R4, { imm: macOffset }).alu64('mov', R5, { imm: BPF_HDR_START_MAC });
      a.call(Helper.skbLoadBytesRelative);
      a.jmp('ne', R0, { imm: 0 }, 'short');
    }
    const room = BUF_LEN - macOffset;
    a.jmp('le', R9, { imm: room }, 'sized');
    a.alu64('mov', R9, { imm: room });
    a.label('sized');
    a.alu64('mov', R1, R6).alu64('mov', R2, { imm: 0 });
    a.alu64('mov', R3, FP).alu64('add', R3, { imm: dst + macOffset });
    a.alu64('mov', R4, R9);
    a.call(Helper.skbLoadBytes);
    a.jmp('ne', R0, { imm: 0 }, 'short');
    if (macOffset) a.alu64('add', R9, { imm: macOffset });
    a.alu64('mov', R7, FP).alu64('add', R7, { imm: S_BUF + BUF_SHIFT });
    a.alu64('mov', R6, R7).alu64('add', R6, R9);
    a.st('w', FP, S_QUEUE, 0);
  }
  a.st('w', FP, S_SPORT, 0).st('w', FP, S_DPORT, 0).st('w', FP, S_FRAG, 0);
  bounds(R7, 14, 'short');
  a.ldx('h', R2, R7, 12);
  a.jmp('ne', R2, { imm: ETH_VLAN_LE }, 'novlan');
  bounds(R7, 18, 'short');
  a.ldx('h', R2, R7, 16);
  a.alu64('mov', R8, R7).alu64('add', R8, { imm: 18 });
  a.ja('l3');
  a.label('novlan');
  a.alu64('mov', R8, R7).alu64('add', R8, { imm: 14 });
  a.label('l3');
  a.note('r8 = network header');
  a.jmp('eq', R2, { imm: ETH_IP_LE }, 'ipv4');
  a.jmp('eq', R2, { imm: ETH_ARP_LE }, 'arp');
  a.ja('pass');

  // ---------------------------------------------------------------- IPv4
  a.label('ipv4');
  bounds(R8, 20, 'short');
  a.ldx('b', R1, R8, 0);
  a.alu64('mov', R2, R1).alu64('and', R2, { imm: 0xf0 }).jmp('ne', R2, { imm: 0x40 }, 'short');
  a.alu64('and', R1, { imm: 0x0f }).alu64('lsh', R1, { imm: 2 }).jmp('lt', R1, { imm: 20 }, 'short');
  a.ldx('b', R2, R8, 9).stx('w', FP, S_PROTO, R2);
  a.ldx('w', R3, R8, 12).stx('w', FP, S_SADDR, R3);
  a.ldx('w', R3, R8, 16).stx('w', FP, S_DADDR, R3);
  a.ldx('h', R3, R8, 6).be(R3, 16).alu64('and', R3, { imm: 0x3fff }).jmp('eq', R3, { imm: 0 }, 'whole');
  if (followFragments) {
    // a later fragment has no ports: it follows its first (the frags map), else its address.
    // A first fragment of TCP, UDP or SCTP has them: steered as a whole packet, and its slot
    // remembered under the datagram's key for the later ones
    a.alu64('and', R3, { imm: 0x1fff }).jmp('ne', R3, { imm: 0 }, 'fragment');
    a.jmp('eq', R2, { imm: 6 }, 'firstfrag').jmp('eq', R2, { imm: 17 }, 'firstfrag').jmp('eq', R2, { imm: 132 }, 'firstfrag');
    a.ja('fragaddr');
    a.label('firstfrag');
    fragKey();
    a.st('w', FP, S_FRAG, 1);
  } else {
    a.ja('fragment');
  }
  a.label('whole');
  a.alu64('mov', R9, R8).alu64('add', R9, R1);
  a.note('r9 = transport header');
  a.jmp('eq', R2, { imm: 6 }, 'ports').jmp('eq', R2, { imm: 17 }, 'ports').jmp('eq', R2, { imm: 132 }, 'ports');
  a.jmp('eq', R2, { imm: 1 }, 'icmp');
  a.jmp('eq', R2, { imm: VRRP_PROTO }, 'vrrp');
  a.ja('match');

  a.label('ports');
  bounds(R9, 4, 'short');
  a.ldx('h', R3, R9, 0).stx('w', FP, S_SPORT, R3);
  a.ldx('h', R3, R9, 2).stx('w', FP, S_DPORT, R3);
  a.ja('match');

  // VRRP: the VRID as the destination port, so that each instance takes only its own
  // adverts (other VRIDs on the wire pass to the kernel). Ports sit in the key as the wire
  // has them (network order): the one-byte VRID goes in the second byte, as endpointKey
  // puts port = VRID. VRID 0 is not valid VRRP: it looks up port 0 (the whole protocol).
  a.label('vrrp');
  bounds(R9, 2, 'short');
  a.ldx('b', R3, R9, 1).alu64('lsh', R3, { imm: 8 }).stx('w', FP, S_DPORT, R3);
  a.ja('match');

  a.label('icmp');
  bounds(R9, 8, 'short');
  a.ldx('b', R3, R9, 0);
  for (const t of [3, 4, 11, 12]) a.jmp('eq', R3, { imm: t }, 'icmperr');
  a.ja('match');

  // a packet with ports (or ICMP non-error / other protocol with port 0)
  a.label('match');
  addrFlags(S_DADDR);
  a.jmp('set', R9, { imm: AddrFlag.Vip }, 'tryvip');
  a.ja('novip');
  a.label('tryvip');
  endpoint(S_DADDR, S_DPORT);
  lookupEndpoint(maps.vips, 'viphit'); // r9 (the address flags) survives the calls
  a.label('novip');
  a.jmp('set', R9, { imm: AddrFlag.Host }, 'pass');
  endpoint(S_SADDR, S_SPORT);
  lookupEndpoint(maps.reals, 'realhit');
  a.ja('pass');
  a.label('viphit');
  client(S_SADDR, S_SPORT, Stat.Ip, true);
  a.label('realhit');
  client(S_DADDR, S_DPORT, Stat.Ip, true);

  // ---------------------------------------------------------------- ICMP errors
  a.label('icmperr');
  a.alu64('mov', R8, R9).alu64('add', R8, { imm: 8 });
  a.note('r8 = quoted IPv4 header');
  bounds(R8, 20, 'short');
  a.ldx('b', R1, R8, 0).alu64('and', R1, { imm: 0x0f }).alu64('lsh', R1, { imm: 2 }).jmp('lt', R1, { imm: 20 }, 'short');
  a.ldx('b', R2, R8, 9).stx('w', FP, S_PROTO, R2);
  a.ldx('w', R3, R8, 12).stx('w', FP, S_SADDR, R3);
  a.ldx('w', R3, R8, 16).stx('w', FP, S_DADDR, R3);
  a.ldx('h', R3, R8, 6).be(R3, 16).alu64('and', R3, { imm: 0x1fff }).jmp('ne', R3, { imm: 0 }, 'qmatch');
  a.jmp('eq', R2, { imm: 6 }, 'qports').jmp('eq', R2, { imm: 17 }, 'qports').jmp('eq', R2, { imm: 132 }, 'qports');
  a.ja('qmatch');
  a.label('qports');
  a.alu64('mov', R9, R8).alu64('add', R9, R1);
  bounds(R9, 4, 'qmatch');
  a.ldx('h', R3, R9, 0).stx('w', FP, S_SPORT, R3);
  a.ldx('h', R3, R9, 2).stx('w', FP, S_DPORT, R3);
  a.label('qmatch');
  endpoint(S_SADDR, S_SPORT);
  lookupEndpoint(maps.vips, 'qviphit');
  endpoint(S_DADDR, S_DPORT);
  lookupEndpoint(maps.reals, 'qrealhit');
  a.ja('pass');
  a.label('qviphit');
  client(S_DADDR, S_DPORT, Stat.IcmpError, true);
  a.label('qrealhit');
  client(S_SADDR, S_SPORT, Stat.IcmpError, true);

  // ---------------------------------------------------------------- fragments
  a.label('fragment');
  if (followFragments) {
    fragKey();
    lookup(maps.frags, S_FKEY);
    a.jmp('eq', R0, { imm: 0 }, 'fragaddr');
    a.ldx('w', R1, R0, 0);
    a.ldx('w', R2, FP, S_QUEUE).alu64('mul', R2, { imm: slots }).alu64('add', R2, R1);
    a.stx('w', FP, S_INDEX, R2);
    a.st('w', FP, S_REASON, Stat.Fragment);
    a.ja('deliver');
  }
  a.label('fragaddr');
  addrFlags(S_DADDR);
  a.jmp('set', R9, { imm: AddrFlag.Vip }, 'fragvip');
  a.jmp('set', R9, { imm: AddrFlag.Host }, 'pass');
  addrFlags(S_SADDR);
  a.jmp('set', R9, { imm: AddrFlag.Real }, 'fragreal');
  a.ja('pass');
  a.label('fragvip');
  client(S_SADDR, S_SPORT, Stat.Fragment, false); // S_SPORT is 0 here
  a.label('fragreal');
  client(S_DADDR, S_DPORT, Stat.Fragment, false);

  // ---------------------------------------------------------------- ARP
  a.label('arp');
  bounds(R8, 28, 'short');
  a.ldx('h', R1, R8, 2).jmp('ne', R1, { imm: ETH_IP_LE }, 'pass');
  a.ldx('b', R1, R8, 5).jmp('ne', R1, { imm: 4 }, 'pass');
  a.ldx('w', R1, R8, 24).stx('w', FP, S_DADDR, R1);
  addrFlags(S_DADDR);
  a.jmp('set', R9, { imm: AddrFlag.Arp }, 'arpsteer');
  a.ja('pass');
  a.label('arpsteer');
  a.ldx('w', R2, FP, S_QUEUE).alu64('mul', R2, { imm: slots });
  a.stx('w', FP, S_INDEX, R2);
  a.st('w', FP, S_REASON, Stat.Arp);
  a.ja('deliver');

  // ---------------------------------------------------------------- steering
  a.label('steer');
  a.note('h = clientHash(addr, port); slot = h * slots >> 32');
  a.ldx('w', R1, FP, S_CADDR).be(R1, 32);
  a.ldx('w', R2, FP, S_CPORT).be(R2, 16);
  a.jmp('set', R9, { imm: EndpointFlag.AddrOnly }, 'noport');
  a.ja('hash');
  a.label('noport');
  a.alu64('mov', R2, { imm: 0 });
  a.note('the address without its low HostBits bits (a persistence netmask): 64-bit shifts, 0..32');
  a.alu64('mov', R4, R9).alu64('and', R4, { imm: EndpointFlag.HostBits });
  a.alu64('rsh', R1, R4).alu64('lsh', R1, R4);
  a.label('hash');
  a.alu32('mul', R1, { imm: HASH_K1 });
  a.alu32('xor', R1, R2);
  a.alu32('mul', R1, { imm: HASH_K2 });
  a.alu64('mov', R3, R1).alu32('rsh', R3, { imm: 16 }).alu32('xor', R1, R3);
  a.alu64('mul', R1, { imm: slots }).alu64('rsh', R1, { imm: 32 });
  if (followFragments) {
    a.ldx('w', R3, FP, S_FRAG).jmp('eq', R3, { imm: 0 }, 'slot');
    a.note('a first fragment: frags[key] = slot');
    a.stx('w', FP, S_FVAL, R1);
    a.ldMap(R1, maps.frags).alu64('mov', R2, FP).alu64('add', R2, { imm: S_FKEY });
    a.alu64('mov', R3, FP).alu64('add', R3, { imm: S_FVAL }).alu64('mov', R4, { imm: 0 });
    a.call(Helper.mapUpdateElem);
    a.ldx('w', R1, FP, S_FVAL);
    a.label('slot');
  }
  a.ldx('w', R2, FP, S_QUEUE).alu64('mul', R2, { imm: slots }).alu64('add', R2, R1);
  a.stx('w', FP, S_INDEX, R2);

  a.label('deliver');
  a.ldx('w', R1, FP, S_REASON).stx('w', FP, S_CKEY, R1);
  bump();
  a.ldx('w', R1, FP, S_INDEX).alu64('add', R1, { imm: Stat.SocketBase }).stx('w', FP, S_CKEY, R1);
  bump();
  if (target === 'xdp') {
    a.ldMap(R1, maps.xsks);
    a.ldx('w', R2, FP, S_INDEX);
    a.alu64('mov', R3, { imm: XdpAction.Pass });
    a.call(Helper.redirectMap);
    a.exit();
  } else if (target === 'fanout') {
    a.ldx('w', R0, FP, S_INDEX).exit(); // queue 0: the index is the slot
  } else {
    a.alu64('mov', R0, { imm: FILTER_KEEP }).exit();
  }

  // ---------------------------------------------------------------- pass
  const notOurs = target === 'xdp' ? XdpAction.Pass : 0;
  a.label('short');
  countImm(Stat.Short);
  a.alu64('mov', R0, { imm: notOurs }).exit();
  a.label('pass');
  countImm(Stat.Pass);
  a.alu64('mov', R0, { imm: notOurs }).exit();
  return a;
}
