/**
 * The IPVS sync protocol on the wire (the kernel's ip_vs_sync.c): version 1 messages
 * (8-byte header, 36-byte IPv4 records with TLV options, records padded to 4 bytes) and
 * version 0 messages (4-byte header, 24-byte IPv4 records, an optional 24-byte block of
 * sequence data). Every multi-byte field is big-endian, except v0's sequence block,
 * which the kernel copies in the sender's byte order (read here as big-endian, as the
 * common x86 peer cannot be told apart: it is parsed and never relied on).
 *
 * Offsets are in the tables below. Decoding is strict: a message or record that breaks a
 * rule is dropped and counted under one reason (`SyncRxCounters`), as the kernel's
 * receiver (`ip_vs_process_message`) drops it.
 */
import { ConnFlag, Proto } from '@tunvs/model';
import { rd16, rd32, wr16, wr32 } from '@tunvs/packet';
import { SCTP_STATE_COUNT, TCP_STATE_COUNT } from '@tunvs/conntrack';

/** The kernel's defaults (ip_vs.h, start_sync_thread). */
export const SYNC_DEFAULTS = {
  /** IP_VS_SYNC_GROUP */
  group: '224.0.0.81',
  /** IP_VS_SYNC_PORT */
  port: 8848,
  ttl: 1,
  /** 1500 - 20 (IPv4) - 8 (UDP): a master's default whatever its interface */
  maxlen: 1472,
  /** the same over an IPv6 group: 1500 - 40 - 8 */
  maxlen6: 1452,
  /** sysctl sync_threshold "3 50" */
  threshold: 3,
  period: 50,
  /** sysctl sync_refresh_period, sync_retries */
  refreshPeriodMs: 0,
  retries: 0,
  /** sysctl sync_version */
  version: 1,
  /** IPVS_SYNC_FLUSH_TIME: a partly filled message is sent when this old */
  flushMs: 2000,
  /** IPVS_SYNC_SEND_DELAY: queued messages are sent this long after the first */
  sendDelayMs: 20,
  /** the backup's timeout for v0 templates (3 * 60 s) */
  templateTimeoutSec: 180,
} as const;

/** Sizes and field values of the two message versions. */
export const SyncWire = {
  V1_HEADER: 8,
  V0_HEADER: 4,
  /** struct ip_vs_sync_v4 */
  V1_RECORD: 36,
  /** struct ip_vs_sync_v6 */
  V1_RECORD6: 72,
  /** struct ip_vs_sync_conn_v0 */
  V0_RECORD: 24,
  /** struct ip_vs_sync_conn_options: in_seq and out_seq, three u32 each */
  SEQ_DATA: 24,
  /** SYNC_PROTO_VER */
  VERSION: 1,
  /** record type bit: an IPv6 record */
  TYPE_INET6: 1,
  /** ver_size: record version in the top 4 bits, length in the low 12 */
  VER_SHIFT: 12,
  SIZE_MASK: 0x0fff,
  /** longest PE name (IP_VS_PENAME_MAXLEN) */
  PE_NAME_MAX: 16,
} as const;

/** v1 header offsets. */
export const V1Hdr = { RESERVED: 0, SYNCID: 1, SIZE: 2, NR_CONNS: 4, VERSION: 5, SPARE: 6 } as const;
/** v0 header offsets. */
export const V0Hdr = { NR_CONNS: 0, SYNCID: 1, SIZE: 2 } as const;
/** v1 IPv4 record offsets. */
export const V1Rec = {
  TYPE: 0, PROTOCOL: 1, VER_SIZE: 2, FLAGS: 4, STATE: 8, CPORT: 10, VPORT: 12, DPORT: 14,
  FWMARK: 16, TIMEOUT: 20, CADDR: 24, VADDR: 28, DADDR: 32,
} as const;
/** v0 record offsets. */
export const V0Rec = { RESERVED: 0, PROTOCOL: 1, CPORT: 2, VPORT: 4, DPORT: 6, CADDR: 8, VADDR: 12, DADDR: 16, FLAGS: 20, STATE: 22 } as const;

/** v1 option types. */
export const SyncOpt = {
  SEQ_DATA: 1,
  PE_DATA: 2,
  PE_NAME: 3,
  /** IPVS_OPT_F_PARAM: an optional option, skipped when unknown */
  OPTIONAL: 0x40,
} as const;

const { IN_SEQ, OUT_SEQ, HASHED, REPLY_FROM_DEST, FWD_MASK, NOOUTPUT, INACTIVE, NO_CPORT, TEMPLATE } = ConnFlag;

/** The sequence-data flags. */
export const SEQ_MASK = IN_SEQ | OUT_SEQ;
/** Flags a master never puts on the wire: the kernel's HASHED and tunvs' internal REPLY_FROM_DEST. */
export const SYNC_NOT_SENT = HASHED | REPLY_FROM_DEST;
/** IP_VS_CONN_F_BACKUP_MASK: the bits a backup keeps from a record. */
export const SYNC_BACKUP_MASK = FWD_MASK | NOOUTPUT | INACTIVE | SEQ_MASK | NO_CPORT | TEMPLATE;
/** IP_VS_CONN_F_BACKUP_UPD_MASK: the bits updated on an existing entry. */
export const SYNC_UPDATE_MASK = INACTIVE | SEQ_MASK;

/** Number of states of each protocol a record may carry (the kernel's num_states). */
export function syncStateCount(protocol: number, template: boolean): number {
  if (template) return 2;
  if (protocol === Proto.TCP) return TCP_STATE_COUNT;
  if (protocol === Proto.UDP) return 1;
  if (protocol === Proto.SCTP) return SCTP_STATE_COUNT;
  return 0;
}

/**
 * Whether a record's protocol and state are ones a backup takes (the kernel's checks in
 * ip_vs_proc_sync_conn): 1 yes, 0 the protocol is not tracked, -1 the state is beyond the
 * protocol's states (a fwmark template, protocol 0, has the template states).
 */
export function syncRecordStateOk(protocol: number, flags: number, state: number): 1 | 0 | -1 {
  const template = (flags & TEMPLATE) !== 0;
  const states = template && protocol === 0 ? 2 : syncStateCount(protocol, template);
  if (states === 0) return 0;
  return state >= 0 && state < states ? 1 : -1;
}

/** One decoded record (IPv4); the decoder refills one object per record. */
export interface SyncRecord {
  /** message version it came in: 0 or 1 */
  version: number;
  protocol: number;
  /** connection flags as sent (32 bits in v1, 16 in v0) */
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  /** v1 only (0 in v0) */
  fwmark: number;
  /** seconds; v1 only (0 in v0: the backup uses the state's timeout) */
  timeout: number;
  caddr: number;
  vaddr: number;
  daddr: number;
  /** in_seq then out_seq: init_seq, delta, previous_delta each; valid when `hasSeq` */
  readonly seq: Uint32Array;
  hasSeq: boolean;
  /** persistence-engine data and name, when present */
  peData: Uint8Array | null;
  peName: string | null;
}

/** A fresh record object (zeroed). */
export function newSyncRecord(): SyncRecord {
  return {
    version: 1, protocol: 0, flags: 0, state: 0, cport: 0, vport: 0, dport: 0, fwmark: 0, timeout: 0,
    caddr: 0, vaddr: 0, daddr: 0, seq: new Uint32Array(6), hasSeq: false, peData: null, peName: null,
  };
}

/** Why received messages and records were dropped (one counter per reason). */
export class SyncRxCounters {
  /** datagrams accepted (header valid) */
  messages = 0;
  /** records decoded and handed on */
  records = 0;
  /** datagram shorter than the 4-byte v0 header */
  short = 0;
  /** the header's size field differs from the datagram's length */
  wrongSize = 0;
  /** syncid differs from ours (ours non-zero) */
  wrongSyncid = 0;
  /** a v1-shaped header (reserved 0) with another version, or a record version not 0 */
  unknownVersion = 0;
  /** a record runs past the end of the datagram (rest of the message dropped) */
  truncated = 0;
  /** a record type other than IPv4 / IPv6 (rest of the message dropped) */
  badType = 0;
  /** option with a bad length, repeated, or PE data without a name (rest dropped) */
  badOption = 0;
  /** an unknown mandatory option (that record skipped) */
  unknownOption = 0;
  /** IPv6 records (tunvs directs IPv4 only; skipped) */
  ipv6 = 0;
  /** a protocol the director does not track (skipped) */
  unknownProto = 0;
  /** a state number beyond the protocol's states (skipped) */
  badState = 0;
  /** a record naming a persistence engine tunvs does not have (skipped) */
  noPe = 0;
}

/** Decode result codes (negative: whole message dropped). */
export const Decoded = { OK: 0, DROPPED: -1 } as const;

/**
 * Decode one datagram `buf[0, len)` as the kernel's backup does: header checks, then each
 * record handed to `sink` (the same `rec` object refilled: copy what you keep). `syncid`
 * 0 accepts every syncid. Returns the message version (0 or 1) or -1 when the header was
 * refused. Records refused are counted in `c`; a record error that ends the message
 * leaves the records before it delivered, as the kernel does.
 */
export function decodeSyncMessage(
  buf: Uint8Array, len: number, syncid: number, rec: SyncRecord, sink: (rec: SyncRecord) => void, c: SyncRxCounters,
): number {
  if (len < SyncWire.V0_HEADER) {
    c.short++;
    return Decoded.DROPPED;
  }
  if (rd16(buf, V1Hdr.SIZE) !== len) {
    c.wrongSize++;
    return Decoded.DROPPED;
  }
  if (syncid !== 0 && buf[V1Hdr.SYNCID] !== syncid) {
    c.wrongSyncid++;
    return Decoded.DROPPED;
  }
  const reserved = buf[V1Hdr.RESERVED]!;
  if (reserved === 0 && len >= SyncWire.V1_HEADER) {
    if (buf[V1Hdr.VERSION] === SyncWire.VERSION && rd16(buf, V1Hdr.SPARE) === 0) {
      c.messages++;
      decodeV1(buf, len, rec, sink, c);
      return 1;
    }
    // v0 never sends an empty message: a zero first byte is a v1-shaped header we do not speak
    c.unknownVersion++;
    return Decoded.DROPPED;
  }
  if (reserved === 0) {
    c.unknownVersion++;
    return Decoded.DROPPED;
  }
  c.messages++;
  decodeV0(buf, len, rec, sink, c);
  return 0;
}

function decodeV1(buf: Uint8Array, len: number, rec: SyncRecord, sink: (rec: SyncRecord) => void, c: SyncRxCounters): void {
  const n = buf[V1Hdr.NR_CONNS]!;
  let p = SyncWire.V1_HEADER;
  for (let i = 0; i < n; i++) {
    if (p + SyncWire.V1_RECORD > len) {
      c.truncated++;
      return;
    }
    const vs = rd16(buf, p + V1Rec.VER_SIZE);
    const size = vs & SyncWire.SIZE_MASK;
    if (p + size > len) {
      c.truncated++;
      return;
    }
    if (vs >>> SyncWire.VER_SHIFT !== 0) {
      c.unknownVersion++;
      return;
    }
    const r = decodeV1Record(buf, p, p + size, rec, c);
    if (r < 0) return;
    if (r === 0) {
      c.records++;
      sink(rec);
    }
    p += (size + 3) & ~3;
  }
}

/** One v1 record at `buf[p, end)`: 0 = decoded, 1 = skipped (counted), -1 = message ends (counted). */
function decodeV1Record(buf: Uint8Array, p: number, end: number, rec: SyncRecord, c: SyncRxCounters): number {
  const type = buf[p + V1Rec.TYPE]!;
  if (type === SyncWire.TYPE_INET6) {
    if (p + SyncWire.V1_RECORD6 > end) {
      c.truncated++;
      return -1;
    }
    c.ipv6++;
    return 1;
  }
  if (type !== 0) {
    c.badType++;
    return -1;
  }
  if (p + SyncWire.V1_RECORD > end) {
    c.truncated++;
    return -1;
  }
  rec.version = 1;
  rec.protocol = buf[p + V1Rec.PROTOCOL]!;
  rec.flags = rd32(buf, p + V1Rec.FLAGS);
  rec.state = rd16(buf, p + V1Rec.STATE);
  rec.cport = rd16(buf, p + V1Rec.CPORT);
  rec.vport = rd16(buf, p + V1Rec.VPORT);
  rec.dport = rd16(buf, p + V1Rec.DPORT);
  rec.fwmark = rd32(buf, p + V1Rec.FWMARK);
  rec.timeout = rd32(buf, p + V1Rec.TIMEOUT);
  rec.caddr = rd32(buf, p + V1Rec.CADDR);
  rec.vaddr = rd32(buf, p + V1Rec.VADDR);
  rec.daddr = rd32(buf, p + V1Rec.DADDR);
  rec.hasSeq = false;
  rec.peData = null;
  rec.peName = null;
  let o = p + SyncWire.V1_RECORD;
  let skip = false;
  while (o < end) {
    if (o + 2 > end) {
      c.badOption++;
      return -1;
    }
    const t = buf[o]!;
    const l = buf[o + 1]!;
    const d = o + 2;
    if (l === 0 || d + l > end) {
      c.badOption++;
      return -1;
    }
    switch (t & ~SyncOpt.OPTIONAL) {
      case SyncOpt.SEQ_DATA:
        if (rec.hasSeq || l !== SyncWire.SEQ_DATA) {
          c.badOption++;
          return -1;
        }
        for (let k = 0; k < 6; k++) rec.seq[k] = rd32(buf, d + 4 * k);
        rec.hasSeq = true;
        break;
      case SyncOpt.PE_DATA:
        if (rec.peData !== null) {
          c.badOption++;
          return -1;
        }
        rec.peData = buf.slice(d, d + l);
        break;
      case SyncOpt.PE_NAME:
        if (rec.peName !== null || l > SyncWire.PE_NAME_MAX) {
          c.badOption++;
          return -1;
        }
        rec.peName = String.fromCharCode(...buf.subarray(d, d + l));
        break;
      default:
        if ((t & SyncOpt.OPTIONAL) === 0) skip = true;
    }
    o = d + l;
  }
  if (rec.peData !== null && rec.peName === null) {
    c.badOption++;
    return -1;
  }
  if (skip) {
    c.unknownOption++;
    return 1;
  }
  return checkRecord(rec, c);
}

/** The protocol/state/PE checks that skip a single record. */
function checkRecord(rec: SyncRecord, c: SyncRxCounters): number {
  const ok = syncRecordStateOk(rec.protocol, rec.flags, rec.state);
  if (ok === 0) {
    c.unknownProto++;
    return 1;
  }
  if (ok < 0) {
    c.badState++;
    return 1;
  }
  if (rec.peName !== null) {
    c.noPe++;
    return 1;
  }
  return 0;
}

function decodeV0(buf: Uint8Array, len: number, rec: SyncRecord, sink: (rec: SyncRecord) => void, c: SyncRxCounters): void {
  const n = buf[V0Hdr.NR_CONNS]!;
  let p = SyncWire.V0_HEADER;
  for (let i = 0; i < n; i++) {
    if (p + SyncWire.V0_RECORD > len) {
      c.truncated++;
      return;
    }
    const flags = rd16(buf, p + V0Rec.FLAGS);
    const size = SyncWire.V0_RECORD + ((flags & SEQ_MASK) !== 0 ? SyncWire.SEQ_DATA : 0);
    if (p + size > len) {
      c.truncated++;
      return;
    }
    rec.version = 0;
    rec.protocol = buf[p + V0Rec.PROTOCOL]!;
    rec.flags = flags;
    rec.state = rd16(buf, p + V0Rec.STATE);
    rec.cport = rd16(buf, p + V0Rec.CPORT);
    rec.vport = rd16(buf, p + V0Rec.VPORT);
    rec.dport = rd16(buf, p + V0Rec.DPORT);
    rec.fwmark = 0;
    rec.timeout = 0;
    rec.caddr = rd32(buf, p + V0Rec.CADDR);
    rec.vaddr = rd32(buf, p + V0Rec.VADDR);
    rec.daddr = rd32(buf, p + V0Rec.DADDR);
    rec.hasSeq = size > SyncWire.V0_RECORD;
    if (rec.hasSeq) for (let k = 0; k < 6; k++) rec.seq[k] = rd32(buf, p + SyncWire.V0_RECORD + 4 * k);
    rec.peData = null;
    rec.peName = null;
    p += size;
    if (checkRecord(rec, c) !== 0) continue;
    c.records++;
    sink(rec);
  }
}

// ------------------------------------------------------------------ encoding

/**
 * Write a v1 IPv4 record without options at `buf[off, off+36)`. `flags` is written as
 * given minus the bits never sent. Returns 36.
 */
export function writeV1Record(
  buf: Uint8Array, off: number, protocol: number, flags: number, state: number, cport: number, vport: number,
  dport: number, fwmark: number, timeoutSec: number, caddr: number, vaddr: number, daddr: number,
): number {
  buf[off + V1Rec.TYPE] = 0;
  buf[off + V1Rec.PROTOCOL] = protocol;
  wr16(buf, off + V1Rec.VER_SIZE, SyncWire.V1_RECORD);
  wr32(buf, off + V1Rec.FLAGS, (flags & ~SYNC_NOT_SENT) >>> 0);
  wr16(buf, off + V1Rec.STATE, state);
  wr16(buf, off + V1Rec.CPORT, cport);
  wr16(buf, off + V1Rec.VPORT, vport);
  wr16(buf, off + V1Rec.DPORT, dport);
  wr32(buf, off + V1Rec.FWMARK, fwmark >>> 0);
  wr32(buf, off + V1Rec.TIMEOUT, timeoutSec >>> 0);
  wr32(buf, off + V1Rec.CADDR, caddr >>> 0);
  wr32(buf, off + V1Rec.VADDR, vaddr >>> 0);
  wr32(buf, off + V1Rec.DADDR, daddr >>> 0);
  return SyncWire.V1_RECORD;
}

/**
 * Write a v0 record at `buf[off, off+24)` (the low 16 bits of `flags` minus the bits never
 * sent). The 24 bytes of sequence data that follow when flags has IN_SEQ/OUT_SEQ are the
 * caller's (`writeSeqData`). Returns 24.
 */
export function writeV0Record(
  buf: Uint8Array, off: number, protocol: number, flags: number, state: number, cport: number, vport: number,
  dport: number, caddr: number, vaddr: number, daddr: number,
): number {
  buf[off + V0Rec.RESERVED] = 0;
  buf[off + V0Rec.PROTOCOL] = protocol;
  wr16(buf, off + V0Rec.CPORT, cport);
  wr16(buf, off + V0Rec.VPORT, vport);
  wr16(buf, off + V0Rec.DPORT, dport);
  wr32(buf, off + V0Rec.CADDR, caddr >>> 0);
  wr32(buf, off + V0Rec.VADDR, vaddr >>> 0);
  wr32(buf, off + V0Rec.DADDR, daddr >>> 0);
  wr16(buf, off + V0Rec.FLAGS, flags & ~SYNC_NOT_SENT & 0xffff);
  wr16(buf, off + V0Rec.STATE, state);
  return SyncWire.V0_RECORD;
}

/**
 * The sequence data (in_seq then out_seq: init_seq, delta, previous_delta, each a 32-bit
 * big-endian word) at `buf[off, off+24)`: v0's block after the record, or the value of
 * v1's IPVS_OPT_SEQ_DATA option. Returns 24.
 */
export function writeSeqData(buf: Uint8Array, off: number, seq: ArrayLike<number>): number {
  for (let k = 0; k < 6; k++) wr32(buf, off + 4 * k, (seq[k] ?? 0) >>> 0);
  return SyncWire.SEQ_DATA;
}

/** The v1 IPVS_OPT_SEQ_DATA option (type, length, sequence data) at `buf[off, off+26)`. Returns 26. */
export function writeSeqOption(buf: Uint8Array, off: number, seq: ArrayLike<number>): number {
  buf[off] = SyncOpt.SEQ_DATA;
  buf[off + 1] = SyncWire.SEQ_DATA;
  return 2 + writeSeqData(buf, off + 2, seq);
}

/** Set a v1 record's length (options included, padding excluded) in its ver_size field (version 0). */
export function setV1RecordLength(buf: Uint8Array, off: number, len: number): void {
  wr16(buf, off + V1Rec.VER_SIZE, len & SyncWire.SIZE_MASK);
}

/** The header of a message of `version` holding `count` records in `size` bytes, at `buf[0, 8)` (v1) or `[0, 4)` (v0). */
export function writeSyncHeader(buf: Uint8Array, version: number, syncid: number, count: number, size: number): void {
  if (version === 0) {
    buf[V0Hdr.NR_CONNS] = count;
    buf[V0Hdr.SYNCID] = syncid;
    wr16(buf, V0Hdr.SIZE, size);
    return;
  }
  buf[V1Hdr.RESERVED] = 0;
  buf[V1Hdr.SYNCID] = syncid;
  wr16(buf, V1Hdr.SIZE, size);
  buf[V1Hdr.NR_CONNS] = count;
  buf[V1Hdr.VERSION] = SyncWire.VERSION;
  wr16(buf, V1Hdr.SPARE, 0);
}

/** The length of a record of `version` (v1: with its options, without padding). */
export function syncRecordLength(version: number, hasSeq: boolean, peDataLen = 0, peNameLen = 0): number {
  if (version === 0) return SyncWire.V0_RECORD + (hasSeq ? SyncWire.SEQ_DATA : 0);
  let n = SyncWire.V1_RECORD + (hasSeq ? 2 + SyncWire.SEQ_DATA : 0);
  if (peDataLen > 0 && peNameLen > 0) n += 2 + peDataLen + 2 + peNameLen;
  return n;
}

/** Where the next record of `version` starts in a message whose records end at `end` (v1 pads to 4 bytes). */
export function syncRecordStart(version: number, end: number): number {
  return version === 0 ? end : (end + 3) & ~3;
}

/** The most records one message carries (nr_conns is one byte). */
export const SYNC_MAX_RECORDS = 255;

/** What `SyncWriter.add` takes: a record's fields, options included. */
export interface SyncRecordSpec {
  protocol: number;
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark?: number;
  timeout?: number;
  caddr: number;
  vaddr: number;
  daddr: number;
  /** in_seq {init, delta, previous_delta} then out_seq: sent when flags has IN_SEQ or OUT_SEQ */
  seq?: readonly number[];
  peData?: Uint8Array;
  peName?: string;
}

const NO_SEQ: readonly number[] = [0, 0, 0, 0, 0, 0];

/**
 * Builds one message in a buffer of `maxlen` bytes, for the control plane and tests (the
 * master writes its records straight into its pool of message buffers with the same
 * functions). `begin`, `add`... , `finish`.
 */
export class SyncWriter {
  readonly buf: Uint8Array;
  /** bytes used (records padded except the last) */
  len = 0;
  count = 0;
  version = 1;
  private syncid = 0;

  constructor(readonly maxlen: number = SYNC_DEFAULTS.maxlen) {
    this.buf = new Uint8Array(maxlen);
  }

  begin(version: number, syncid: number): void {
    this.version = version;
    this.syncid = syncid;
    this.buf.fill(0);
    this.len = version === 0 ? SyncWire.V0_HEADER : SyncWire.V1_HEADER;
    this.count = 0;
  }

  /** The length a record takes (v1: with options, without padding). */
  static recordLength(version: number, r: SyncRecordSpec): number {
    return syncRecordLength(version, (r.flags & SEQ_MASK) !== 0, r.peData?.length ?? 0, r.peName?.length ?? 0);
  }

  /** Append a record; false (nothing written) when it does not fit or 255 are there. */
  add(r: SyncRecordSpec): boolean {
    const v = this.version;
    const n = SyncWriter.recordLength(v, r);
    const at = syncRecordStart(v, this.len);
    if (at + n > this.maxlen || this.count >= SYNC_MAX_RECORDS) return false;
    const b = this.buf;
    const seq = (r.flags & SEQ_MASK) !== 0;
    if (v === 0) {
      writeV0Record(b, at, r.protocol, r.flags, r.state, r.cport, r.vport, r.dport, r.caddr, r.vaddr, r.daddr);
      if (seq) writeSeqData(b, at + SyncWire.V0_RECORD, r.seq ?? NO_SEQ);
    } else {
      writeV1Record(b, at, r.protocol, r.flags, r.state, r.cport, r.vport, r.dport, r.fwmark ?? 0, r.timeout ?? 0, r.caddr, r.vaddr, r.daddr);
      setV1RecordLength(b, at, n);
      let o = at + SyncWire.V1_RECORD;
      if (seq) o += writeSeqOption(b, o, r.seq ?? NO_SEQ);
      if (r.peData && r.peName) {
        b[o] = SyncOpt.PE_DATA;
        b[o + 1] = r.peData.length;
        b.set(r.peData, o + 2);
        o += 2 + r.peData.length;
        b[o] = SyncOpt.PE_NAME;
        b[o + 1] = r.peName.length;
        for (let k = 0; k < r.peName.length; k++) b[o + 2 + k] = r.peName.charCodeAt(k);
      }
    }
    this.len = at + n;
    this.count++;
    return true;
  }

  /** Write the header's counts and size; returns the message length. */
  finish(): number {
    writeSyncHeader(this.buf, this.version, this.syncid, this.count, this.len);
    return this.len;
  }
}
