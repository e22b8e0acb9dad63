export { HostnetError, native } from './native.js';
export type { NativeHostnet, NativeIfInfo, WatchHandle } from './native.js';
export { RawIpSocket, PacketSocket, ifInfo, IFF_UP, IFF_RUNNING, IFF_MULTICAST } from './sockets.js';
export type { IfInfo, RawDatagram } from './sockets.js';
export {
  RTM, NLM_F, RTMGRP, SCOPES, ROUTE_TYPES, RTPROT_KEEPALIVED, MACVLAN_MODE_PRIVATE, addrMessage, routeMessage, macvlanMessage,
  linkUpMessage, delLinkMessage, proxyNeighMessage, dumpMessage, splitMessages, parseLink, parseAddr, Rtnetlink, NetlinkMonitor,
} from './netlink.js';
export type { AddrSpec, RouteSpec, NlMessage, LinkInfo, AddrInfo, NetlinkEvents } from './netlink.js';
export { MAX_CPUS, parseCpuList, formatCpuList, threadCpus, pinThread } from './cpus.js';
