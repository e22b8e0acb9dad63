/**
 * Capture files of either format, and where the IPv4 packet starts in a captured frame:
 *
 *   - classic pcap (pcap.ts) and pcapng (read here: Section Header, Interface
 *     Description, Enhanced/Simple/obsolete Packet blocks; other blocks skipped; both byte
 *     orders; several sections and interfaces, each with its link type and timestamp
 *     resolution);
 *   - link types: Ethernet (with one VLAN tag), raw IP as TUN devices give it (101, and
 *     DLT_RAW 12 as some systems write it, 228 IPv4), Linux cooked v1/v2 (`tcpdump -i any`),
 *     BSD loopback (0).
 *
 * Used by tools that turn captures into something else (tunvs-sched trace-from-pcap); the
 * packets themselves are then read with the views of this package.
 */
import { readFileSync } from 'node:fs';
import { rd16 } from './bytes.js';
import { EtherType } from './ethernet.js';
import { PcapError, parsePcap } from './pcap.js';
import type { PcapRecord } from './pcap.js';

/** One captured frame, with the link type of the interface it was captured on. */
export interface CaptureRecord extends PcapRecord {
  linktype: number;
}

/** A capture file read by `parseCapture`. */
export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  records: CaptureRecord[];
}

/** Link types `ipv4Offset` understands (LINKTYPE_* values). */
export const CaptureLinkType = {
  Null: 0,
  Ethernet: 1,
  RawDlt12: 12,
  Raw: 101,
  LinuxSll: 113,
  Ipv4: 228,
  LinuxSll2: 276,
} as const;

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const OBSOLETE_PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

interface Iface {
  linktype: number;
  snaplen: number;
  /** seconds per timestamp unit */
  unit: number;
  /** seconds added to every timestamp (if_tsoffset) */
  offset: number;
}

/** Parse the bytes of a pcapng file. Throws PcapError on a bad or cut file. */
export function parsePcapng(bytes: Uint8Array): CaptureFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: CaptureRecord[] = [];
  let le = true;
  let ifaces: Iface[] = [];
  let o = 0;
  let lastTime = 0;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw new PcapError('ETRUNCATED', `pcapng block header cut at byte ${o}`);
    let type = dv.getUint32(o, le);
    if (dv.getUint32(o, true) === SHB) {
      // a new section: its byte-order magic decides the endianness from here on
      const m = dv.getUint32(o + 8, true);
      if (m === BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(o + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else throw new PcapError('EBADMAGIC', `pcapng section at byte ${o} has no byte-order magic`);
      type = SHB;
      ifaces = [];
    } else if (o === 0) {
      throw new PcapError('EBADMAGIC', 'not a pcapng file (no Section Header Block first)');
    }
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || len % 4 !== 0) throw new PcapError('ETRUNCATED', `pcapng block at byte ${o} has a bad length ${len}`);
    if (o + len > bytes.length) throw new PcapError('ETRUNCATED', `pcapng block at byte ${o} cut (${len} bytes announced)`);
    const body = o + 8;
    const end = o + len - 4;
    if (type === IDB) {
      const iface: Iface = { linktype: dv.getUint16(body, le), snaplen: dv.getUint32(body + 4, le), unit: 1e-6, offset: 0 };
      // options: code, length, value padded to 4
      let p = body + 8;
      while (p + 4 <= end) {
        const code = dv.getUint16(p, le);
        const olen = dv.getUint16(p + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const v = bytes[p + 4]!;
          iface.unit = (v & 0x80) !== 0 ? 2 ** -(v & 0x7f) : 10 ** -v;
        } else if (code === 14 && olen >= 8) {
          iface.offset = Number(dv.getBigInt64(p + 4, le));
        }
        p += 4 + ((olen + 3) & ~3);
      }
      ifaces.push(iface);
    } else if (type === EPB || type === OBSOLETE_PB) {
      const epb = type === EPB;
      const id = epb ? dv.getUint32(body, le) : dv.getUint16(body, le);
      const iface = ifaces[id];
      if (!iface) throw new PcapError('ETRUNCATED', `pcapng packet at byte ${o} names interface ${id}, which was not described`);
      const ts = dv.getUint32(body + 4, le) * 4294967296 + dv.getUint32(body + 8, le);
      const cap = dv.getUint32(body + 12, le);
      const orig = dv.getUint32(body + 16, le);
      const data = body + 20;
      if (data + cap > end) throw new PcapError('ETRUNCATED', `pcapng packet at byte ${o} cut`);
      lastTime = ts * iface.unit + iface.offset;
      records.push({ data: bytes.slice(data, data + cap), time: lastTime, origLen: orig, linktype: iface.linktype });
    } else if (type === SPB) {
      const iface = ifaces[0];
      if (!iface) throw new PcapError('ETRUNCATED', `pcapng simple packet at byte ${o} before any interface`);
      const orig = dv.getUint32(body, le);
      const cap = Math.min(orig, iface.snaplen > 0 ? iface.snaplen : orig, end - body - 4);
      // a simple packet has no timestamp: it gets the previous packet's time
      records.push({ data: bytes.slice(body + 4, body + 4 + cap), time: lastTime, origLen: orig, linktype: iface.linktype });
    }
    o += len;
  }
  return { format: 'pcapng', records };
}

/** Parse a classic pcap or a pcapng file, told apart by their first bytes. */
export function parseCapture(bytes: Uint8Array): CaptureFile {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === SHB) return parsePcapng(bytes);
  let f;
  try {
    f = parsePcap(bytes);
  } catch (e) {
    // parsePcap knows the classic format only; here pcapng was tried first
    if (e instanceof PcapError && e.code === 'EBADMAGIC') throw new PcapError('EBADMAGIC', `not a pcap or pcapng file (its first word is 0x${new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true).toString(16)})`);
    throw e;
  }
  return { format: 'pcap', records: f.records.map((r) => ({ ...r, linktype: f.linktype })) };
}

/** Read a classic pcap or a pcapng file from `path`. Throws PcapError on a bad or cut file, its message naming the file. */
export function readCapture(path: string): CaptureFile {
  const bytes = readFileSync(path);
  try {
    return parseCapture(bytes);
  } catch (e) {
    if (e instanceof PcapError) throw new PcapError(e.code, `${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Offset of the IPv4 header in a captured frame of link type `linktype`, or -1 when the
 * frame carries no IPv4 packet (ARP, IPv6, another family) or the link type is unknown.
 * The header itself is not checked: pass `data` from the offset to `classifyFrame(..., 'tun')`.
 */
export function ipv4Offset(linktype: number, data: Uint8Array): number {
  const n = data.length;
  switch (linktype) {
    case CaptureLinkType.Ethernet: {
      if (n < 14) return -1;
      let et = rd16(data, 12);
      let off = 14;
      if (et === EtherType.Vlan || et === EtherType.QinQ) {
        if (n < 18) return -1;
        et = rd16(data, 16);
        off = 18;
      }
      return et === EtherType.Ipv4 ? off : -1;
    }
    case CaptureLinkType.Raw:
    case CaptureLinkType.RawDlt12:
    case CaptureLinkType.Ipv4:
      return n >= 1 && data[0]! >> 4 === 4 ? 0 : -1;
    case CaptureLinkType.LinuxSll:
      return n >= 16 && rd16(data, 14) === EtherType.Ipv4 ? 16 : -1;
    case CaptureLinkType.LinuxSll2:
      return n >= 20 && rd16(data, 0) === EtherType.Ipv4 ? 20 : -1;
    case CaptureLinkType.Null: {
      if (n < 4) return -1;
      // the address family in the capturing host's byte order: AF_INET is 2 everywhere
      const fam = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
      const famBe = (data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!;
      return fam === 2 || famBe === 2 ? 4 : -1;
    }
    default:
      return -1;
  }
}
