/**
 * TUNSETOFFLOAD flags of a TUN/TAP device opened with IFF_VNET_HDR. The virtio_net_hdr
 * itself (layout, flags, GSO types, readers) is @tunvs/link's: every Link with a vnet
 * header shares it.
 */
export { VNET_HDR, VNET_HDR_LEN, VNET_HDR_MRG_LEN, VNET_F, VNET_GSO, readVnetHeader, writeVnetNone } from '@tunvs/link';
export type { VnetHeader } from '@tunvs/link';

/** TUNSETOFFLOAD flags: what the program on the fd side accepts from the kernel. */
export const TUN_F = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** The offloads requested by default with a vnet header (USO dropped on older kernels). */
export const DEFAULT_OFFLOADS = TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6 | TUN_F.TSO_ECN | TUN_F.USO4 | TUN_F.USO6;

