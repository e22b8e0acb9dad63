export { MasqForwarder, natInbound, natOutbound, natIcmpInbound, natIcmpOutbound } from './masq.js';
export { FtpMasqForwarder, FtpConnState, FTP_DEFAULT_PORTS, FTP_MAX_PORTS } from './ftp.js';
export type { FtpCounters } from './ftp.js';
export { FtpMatch, FtpMode, ftpClientCommand, parse227, parse229, writeReplacement, replacementLength } from './ftp-text.js';
export { SeqAdjust, seqAfter } from './seq-adjust.js';
