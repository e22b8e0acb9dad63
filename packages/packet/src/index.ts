export { rd16, rd32, wr16, wr32, wordsOf } from './bytes.js';
export {
  csumFold, csumFinish, csumPartial, checksum, ipv4HeaderCsumOk, pseudoHeaderSum, csumUpdate16, csumUpdate32,
  udpCsumUpdate16, udpCsumUpdate32, udpWireChecksum, csumVerify,
} from './checksum.js';
export { ParseReason, reasonName, REASON_COUNT, CheckFlags } from './reason.js';
export type { ParseReasonCode } from './reason.js';
export {
  EthField, ETH_HEADER_LEN, EtherType, MAC_LEN, BROADCAST_MAC, EthernetView, copyMac, readMac48, writeMac48,
  checkEthernet, ethernetHeaderLen, emitEthernet, parseEthernet,
} from './ethernet.js';
export type { EthernetRepr, VlanTag } from './ethernet.js';
export {
  ArpField, ARP_LEN, ArpOp, ARP_HTYPE_ETHERNET, ArpView, checkArp, emitArp, parseArp, ARP_FRAME_LEN,
  emitArpReply, emitGratuitousArp, emitArpRequest,
} from './arp.js';
export type { ArpRepr } from './arp.js';
export {
  Ipv4Field, IPV4_HEADER_LEN, Ipv4Flag, Ipv4View, checkIpv4, ipv4HeaderLen, emitIpv4, parseIpv4Header, ipv4FragmentPayload, emitIpv4Fragment,
} from './ipv4.js';
export type { Ipv4Repr } from './ipv4.js';
export { TcpField, TCP_HEADER_LEN, TcpFlag, TcpView, checkTcp, checkTcpHeader, tcpHeaderLen, emitTcp, parseTcp } from './tcp.js';
export type { TcpRepr } from './tcp.js';
export { UdpField, UDP_HEADER_LEN, UdpView, checkUdp, checkUdpHeader, emitUdp, parseUdp } from './udp.js';
export type { UdpRepr } from './udp.js';
export {
  IcmpField, ICMP_HEADER_LEN, IcmpType, IcmpUnreachCode, IcmpTimeExceededCode, isIcmpError, IcmpView, IcmpQuoteView,
  checkIcmpQuote, checkIcmp, emitIcmp, parseIcmp, emitIcmpError, echoReplyInPlace, ICMP_ERROR_MAX_LEN,
} from './icmp.js';
export type { IcmpRepr } from './icmp.js';
export { FrameKind, FrameInfo, classifyFrame, classifyIpv4, l4ChecksumField } from './classify.js';
export { gsoHeadersLen, emitGsoSegment } from './gso.js';
export { natRewriteDst, natRewriteSrc, natForwardDst, natForwardDstParsed, decTtl, natRewriteQuoteSrc, natRewriteQuoteDst } from './nat.js';
export { flowHash, flowHashOf, flowPorts, l4Offset, srcPortOf, dstPortOf, icmpEchoIdOf } from './flow.js';
export {
  AddressErrorCode, AddressError, parseIpv4, isIpv4, formatIpv4, prefixToMask, maskPrefixLength, parseCidr, formatCidr, cidrContains,
  parsePort, parseEndpoint, formatEndpoint, parseMac, formatMac, macToNumber, numberToMac,
} from './address.js';
export type { AddressErrorCodeValue, Cidr, Endpoint } from './address.js';
export { packet, PacketBuilder, tcpFlags, quoteOf, DEFAULT_SRC_MAC, DEFAULT_DST_MAC } from './builder.js';
export type { AddrLike, MacLike, EthSpec, ArpSpec, Ipv4Spec, TcpSpec, UdpSpec, IcmpSpec, SctpSpec, SctpChunkSpec } from './builder.js';
export { LinkType, PcapError, pcapBytes, writePcap, parsePcap, readPcap } from './pcap.js';
export type { PcapFrame, PcapRecord, PcapFile } from './pcap.js';
export { CaptureLinkType, parsePcapng, parseCapture, readCapture, ipv4Offset } from './capture.js';
export type { CaptureRecord, CaptureFile } from './capture.js';
export { GueField, GreField, greHeaderLen, TunnelHeaderError, parseGueHeader, gueRemcsum, parseGreHeader } from './tunnel.js';
export { SctpField, checkSctp } from './sctp.js';
export { crc32c, crc32cUpdate, sctpChecksum, setSctpChecksum, sctpChecksumOk, SCTP_COMMON_HEADER_LEN } from './crc32c.js';
