/**
 * Direct routing (ipvsadm `-g`, the default): the packet is sent to the real server's MAC
 * address with its IP header untouched (but for the TTL, which the caller decrements).
 * The real server owns the VIP on a loopback interface and answers the client directly.
 * Only possible on a layer-2 (TAP) link.
 */
import { EthField } from '@tunvs/packet';

/**
 * Rewrite the Ethernet header at `buf[eth]`: destination := the 6 bytes at
 * `macs[macOff]` (the next hop's MAC), source := `ourMac`.
 */
export function drRewrite(buf: Uint8Array, eth: number, macs: Uint8Array, macOff: number, ourMac: Uint8Array): void {
  const d = eth + EthField.DST;
  buf[d] = macs[macOff]!;
  buf[d + 1] = macs[macOff + 1]!;
  buf[d + 2] = macs[macOff + 2]!;
  buf[d + 3] = macs[macOff + 3]!;
  buf[d + 4] = macs[macOff + 4]!;
  buf[d + 5] = macs[macOff + 5]!;
  const s = eth + EthField.SRC;
  buf[s] = ourMac[0]!;
  buf[s + 1] = ourMac[1]!;
  buf[s + 2] = ourMac[2]!;
  buf[s + 3] = ourMac[3]!;
  buf[s + 4] = ourMac[4]!;
  buf[s + 5] = ourMac[5]!;
}
