/**
 * Classic libpcap files (not pcapng): a writer for captures of emitted packets and a
 * reader for tests and tools. Files we write are little-endian, microsecond resolution,
 * snaplen 262144; the reader also takes big-endian and nanosecond files.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Link types used here (LINKTYPE_* values). */
export const LinkType = {
  /** Ethernet frames (TAP) */
  Ethernet: 1,
  /** raw IPv4/IPv6 packets, no link header (TUN) */
  Raw: 101,
} as const;

/** A frame to write: bytes, optionally with a timestamp in seconds. */
export type PcapFrame = Uint8Array | { data: Uint8Array; time?: number };

/** One record read from a file. */
export interface PcapRecord {
  data: Uint8Array;
  /** seconds since the epoch (with the sub-second part) */
  time: number;
  /** the packet's length on the wire (>= data.length when the capture was cut) */
  origLen: number;
}

/** A parsed capture file. */
export interface PcapFile {
  linktype: number;
  snaplen: number;
  records: PcapRecord[];
}

/** The file is not a classic pcap file or is cut short; `code` says which. */
export class PcapError extends Error {
  readonly code: 'EBADMAGIC' | 'ETRUNCATED';
  /** An error with its code. */
  constructor(code: 'EBADMAGIC' | 'ETRUNCATED', message: string) {
    super(message);
    this.name = 'PcapError';
    this.code = code;
  }
}

const SNAPLEN = 262144;

/**
 * The bytes of a pcap file holding `frames` with link type `linktype`. Frames without a
 * time get 1 ms apart from 0, so output is deterministic.
 */
export function pcapBytes(frames: readonly PcapFrame[], linktype: number): Uint8Array {
  let size = 24;
  for (const f of frames) size += 16 + (f instanceof Uint8Array ? f : f.data).length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true);
  dv.setUint32(12, 0, true);
  dv.setUint32(16, SNAPLEN, true);
  dv.setUint32(20, linktype, true);
  let o = 24;
  frames.forEach((f, i) => {
    const data = f instanceof Uint8Array ? f : f.data;
    const t = f instanceof Uint8Array || f.time === undefined ? i / 1000 : f.time;
    let sec = Math.floor(t);
    let usec = Math.round((t - sec) * 1e6);
    if (usec >= 1e6) {
      sec++;
      usec -= 1e6;
    }
    dv.setUint32(o, sec, true);
    dv.setUint32(o + 4, usec, true);
    dv.setUint32(o + 8, data.length, true);
    dv.setUint32(o + 12, data.length, true);
    out.set(data, o + 16);
    o += 16 + data.length;
  });
  return out;
}

/** Write `frames` to a pcap file at `path`. */
export function writePcap(path: string, frames: readonly PcapFrame[], linktype: number): void {
  writeFileSync(path, pcapBytes(frames, linktype));
}

/** Parse the bytes of a classic pcap file. Throws `PcapError` on a bad or cut file. */
export function parsePcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < 24) throw new PcapError('ETRUNCATED', 'pcap file shorter than its 24-byte header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nano = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = dv.getUint32(0, false);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) {
      throw new PcapError('EBADMAGIC', `not a pcap file (magic 0x${magicLe.toString(16)}; pcapng is not supported)`);
    }
    le = false;
    nano = magicBe === 0xa1b23c4d;
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let o = 24;
  while (o < bytes.length) {
    if (o + 16 > bytes.length) throw new PcapError('ETRUNCATED', `record header cut at byte ${o}`);
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    const orig = dv.getUint32(o + 12, le);
    if (o + 16 + incl > bytes.length) throw new PcapError('ETRUNCATED', `record data cut at byte ${o + 16}`);
    records.push({ data: bytes.slice(o + 16, o + 16 + incl), time: sec + frac / (nano ? 1e9 : 1e6), origLen: orig });
    o += 16 + incl;
  }
  return { linktype, snaplen, records };
}

/** Read a classic pcap file from `path`. Throws `PcapError` on a bad or cut file. */
export function readPcap(path: string): PcapFile {
  return parsePcap(readFileSync(path));
}
