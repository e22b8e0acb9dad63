/**
 * struct virtio_net_hdr, the prefix of every packet on a device opened with IFF_VNET_HDR.
 * Multi-byte fields are in host byte order (little endian on x86-64 and arm64): legacy
 * virtio layout, which is what TUN uses unless TUNSETVNETBE is set.
 *
 *   offset size field
 *   0      1    flags        VNET_F.NEEDS_CSUM: the L4 checksum is partial (pseudo-header
 *                            sum only); finish it from csum_start, store at +csum_offset
 *                            VNET_F.DATA_VALID: the checksum was already verified
 *   1      1    gso_type     VNET_GSO.*: NONE, TCPV4, UDP (UFO), TCPV6, UDP_L4 (USO);
 *                            | VNET_GSO.ECN when the TCP stream uses ECN
 *   2      2    hdr_len      bytes of headers (L2+L3+L4) to copy in front of each segment
 *   4      2    gso_size     payload bytes per segment (the MSS for TCP)
 *   6      2    csum_start   where checksumming starts, from the packet start (after this hdr)
 *   8      2    csum_offset  where to store the checksum, from csum_start
 *   10     2    num_buffers  only when the header is 12 bytes (virtio_net_hdr_mrg_rxbuf)
 */

/** Field offsets inside the virtio_net_hdr. */
export const VNET_HDR = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
} as const;

/** Header sizes: the plain header, and the one with num_buffers. */
export const VNET_HDR_LEN = 10;
/** Size of struct virtio_net_hdr_mrg_rxbuf (with num_buffers). */
export const VNET_HDR_MRG_LEN = 12;

/** Values of the flags byte. */
export const VNET_F = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
} as const;

/** Values of the gso_type byte. */
export const VNET_GSO = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  ECN: 0x80,
} as const;

/** A decoded header (for tools and tests; allocates). */
export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** A 16-bit field of the header (little endian). */
function rd16le(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8);
}

function wr16le(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff;
  buf[at + 1] = v >>> 8;
}

/** Decode the virtio_net_hdr at `off` (little endian). */
export function readVnetHeader(buf: Uint8Array, off: number): VnetHeader {
  return {
    flags: buf[off + VNET_HDR.FLAGS]!,
    gsoType: buf[off + VNET_HDR.GSO_TYPE]!,
    hdrLen: rd16le(buf, off + VNET_HDR.HDR_LEN),
    gsoSize: rd16le(buf, off + VNET_HDR.GSO_SIZE),
    csumStart: rd16le(buf, off + VNET_HDR.CSUM_START),
    csumOffset: rd16le(buf, off + VNET_HDR.CSUM_OFFSET),
  };
}

/** True when the header at `off` says the L4 checksum is partial (CHECKSUM_PARTIAL). */
export function vnetNeedsCsum(buf: Uint8Array, off: number): boolean {
  return (buf[off + VNET_HDR.FLAGS]! & VNET_F.NEEDS_CSUM) !== 0;
}

/** True when the header at `off` marks a GSO super-packet (larger than the MTU by design). */
export function vnetIsGso(buf: Uint8Array, off: number): boolean {
  return buf[off + VNET_HDR.GSO_TYPE]! !== VNET_GSO.NONE;
}

/**
 * The packet behind the header at `off` now starts `cut` bytes later (a VLAN tag taken out
 * in front of the checksummed part): its offsets from the packet start, `hdr_len` and a
 * partial checksum's `csum_start`, shrink by as much.
 */
export function vnetShiftStart(buf: Uint8Array, off: number, cut: number): void {
  if (vnetIsGso(buf, off)) shrink16le(buf, off + VNET_HDR.HDR_LEN, cut);
  if (vnetNeedsCsum(buf, off)) shrink16le(buf, off + VNET_HDR.CSUM_START, cut);
}

/** Take `cut` off the 16-bit field at `at` (left as it is when smaller). */
function shrink16le(buf: Uint8Array, at: number, cut: number): void {
  const v = rd16le(buf, at) - cut;
  if (v >= 0) wr16le(buf, at, v);
}

/** Write an all-zero header ("complete packet, checksums done, no GSO") of `len` bytes at `off`. */
export function writeVnetNone(buf: Uint8Array, off: number, len: number = VNET_HDR_LEN): void {
  buf.fill(0, off, off + len);
}

/** The gso_type byte of the header at `off` (VNET_GSO.*, with the ECN bit). */
export function vnetGsoType(buf: Uint8Array, off: number): number {
  return buf[off + VNET_HDR.GSO_TYPE]!;
}

/** The gso_size of the header at `off`: payload bytes per segment (little endian). */
export function vnetGsoSize(buf: Uint8Array, off: number): number {
  return rd16le(buf, off + VNET_HDR.GSO_SIZE);
}
