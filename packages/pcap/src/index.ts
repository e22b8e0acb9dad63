export { PcapLink, PcapError, openPcap, pcapErrorCode } from './pcap-link.js';
export type { PcapOptions } from './pcap-link.js';
