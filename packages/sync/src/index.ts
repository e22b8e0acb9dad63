export {
  SYNC_DEFAULTS, SyncWire, V1Hdr, V0Hdr, V1Rec, V0Rec, SyncOpt, SEQ_MASK, SYNC_NOT_SENT, SYNC_BACKUP_MASK,
  SYNC_UPDATE_MASK, SyncRxCounters, Decoded, SyncWriter, decodeSyncMessage, newSyncRecord, syncStateCount,
  writeV1Record, writeV0Record, writeSeqData, writeSeqOption, writeSyncHeader, setV1RecordLength, syncRecordLength,
  syncRecordStart, SYNC_MAX_RECORDS,
} from './wire.js';
export type { SyncRecord, SyncRecordSpec } from './wire.js';
export { SyncMaster, defaultMasterSettings, defaultQlenMax } from './master.js';
export type { SyncMasterSettings, SyncMasterCounters, SyncSender, SyncSeqSource } from './master.js';
export { SyncBackup, SyncApplyCounters, findSyncDest } from './backup.js';
export type { SyncBackupSettings, SyncBackupTarget, SyncRecordSink } from './backup.js';
export { UdpSyncTransport, MemorySyncHub, MemorySyncTransport, SyncError, interfaceAddress, interfaceScope, rcvbufWarning, BACKUP_RCVBUF } from './transport.js';
export type { SyncEndpoint, SyncTransport } from './transport.js';
export { SyncDaemons, DirectorSync, resolveSyncConfig } from './daemons.js';
export type { SyncRole, SyncDaemonConfig, SyncDaemonStatus, SyncDaemonsOptions, SyncTransportFactory, SyncWorkers, SyncMasterStatus, SyncBackupStatus } from './daemons.js';
export { checkSyncSysctls, syncMasterSettings, SYNC_SYSCTLS, MAX_REFRESH_PERIOD_S, MAX_QLEN } from './sysctls.js';
export type { SyncSysctls, SyncSysctlProblem } from './sysctls.js';
