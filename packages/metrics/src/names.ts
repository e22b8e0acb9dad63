/**
 * The one table of metric families tunvs exposes: name, type, labels and help text. The
 * `node_ipvs_*` rows are node_exporter's IPVS collector, names, types, labels and help
 * texts unchanged, so dashboards and alerts written for it work as they are. The README's
 * table is generated from this one.
 */

/** One metric family. */
export interface FamilyDef {
  name: string;
  type: 'counter' | 'gauge';
  labels: readonly string[];
  help: string;
}

const IPVS_BACKEND = ['local_address', 'local_mark', 'local_port', 'proto', 'remote_address', 'remote_port'] as const;
const SVC = ['proto', 'vip', 'port', 'fwmark'] as const;
const DEST = [...SVC, 'rip', 'rport'] as const;
const RS = ['virtual_server', 'rip', 'rport'] as const;
const CHECK = [...RS, 'checker', 'index'] as const;
const LINK = ['link', 'queue', 'worker'] as const;
const VRRP = ['instance', 'vrid', 'interface'] as const;
const SYNC = ['role', 'syncid'] as const;

const f = (name: string, type: FamilyDef['type'], labels: readonly string[], help: string): FamilyDef => ({ name, type, labels, help });

/** Every family, in exposition order. */
export const FAMILIES = {
  // node_exporter's ipvs collector (collector/ipvs_linux.go)
  ipvsConnections: f('node_ipvs_connections_total', 'counter', [], 'The total number of connections made.'),
  ipvsInPackets: f('node_ipvs_incoming_packets_total', 'counter', [], 'The total number of incoming packets.'),
  ipvsOutPackets: f('node_ipvs_outgoing_packets_total', 'counter', [], 'The total number of outgoing packets.'),
  ipvsInBytes: f('node_ipvs_incoming_bytes_total', 'counter', [], 'The total amount of incoming data.'),
  ipvsOutBytes: f('node_ipvs_outgoing_bytes_total', 'counter', [], 'The total amount of outgoing data.'),
  ipvsActive: f('node_ipvs_backend_connections_active', 'gauge', IPVS_BACKEND, 'The current active connections by local and remote address.'),
  ipvsInactive: f('node_ipvs_backend_connections_inactive', 'gauge', IPVS_BACKEND, 'The current inactive connections by local and remote address.'),
  ipvsWeight: f('node_ipvs_backend_weight', 'gauge', IPVS_BACKEND, 'The current backend weight by local and remote address.'),

  // what IPVS never exposed per service and real server
  svcConns: f('tunvs_service_connections_total', 'counter', SVC, 'Connections scheduled to the virtual service (ipvsadm --stats Conns).'),
  svcInPkts: f('tunvs_service_incoming_packets_total', 'counter', SVC, 'Packets from clients to the virtual service.'),
  svcOutPkts: f('tunvs_service_outgoing_packets_total', 'counter', SVC, 'Packets from real servers back to clients (NAT).'),
  svcInBytes: f('tunvs_service_incoming_bytes_total', 'counter', SVC, 'Bytes from clients to the virtual service.'),
  svcOutBytes: f('tunvs_service_outgoing_bytes_total', 'counter', SVC, 'Bytes from real servers back to clients (NAT).'),
  destConns: f('tunvs_backend_connections_total', 'counter', DEST, 'Connections scheduled to the real server.'),
  destInPkts: f('tunvs_backend_incoming_packets_total', 'counter', DEST, 'Packets forwarded to the real server.'),
  destOutPkts: f('tunvs_backend_outgoing_packets_total', 'counter', DEST, 'Packets from the real server (NAT).'),
  destInBytes: f('tunvs_backend_incoming_bytes_total', 'counter', DEST, 'Bytes forwarded to the real server.'),
  destOutBytes: f('tunvs_backend_outgoing_bytes_total', 'counter', DEST, 'Bytes from the real server (NAT).'),
  destPersistent: f('tunvs_backend_persistent_connections', 'gauge', DEST, 'Persistence templates pointing at the real server (ipvsadm --persistent-conn).'),
  destOverloaded: f('tunvs_backend_overloaded', 'gauge', DEST, '1 while the real server is over its upper connection threshold.'),
  schedDecisions: f('tunvs_scheduler_decisions_total', 'counter', ['result'], 'New flows by outcome: bound to a real server, or refused (no destination, table full, not schedulable).'),

  // data path
  drops: f('tunvs_drops_total', 'counter', ['reason'], 'Packets not forwarded, by reason (malformed packets by parse reason).'),
  packets: f('tunvs_packets_total', 'counter', ['direction'], 'Packets the director read (rx) and wrote (tx).'),
  events: f('tunvs_datapath_events_total', 'counter', ['event'], 'Packets handled without a drop: ICMP relayed/sent, fragments forwarded, ARP replies.'),
  ctEntries: f('tunvs_conntrack_entries', 'gauge', ['proto', 'state'], 'Connection-table entries by protocol and state (templates: proto "TEMPLATE").'),
  ctCapacity: f('tunvs_conntrack_capacity', 'gauge', [], 'Connection-table capacity (entries, connections and templates).'),
  ctEvents: f('tunvs_conntrack_events_total', 'counter', ['event'], 'Connection-table events: inserted, refused (full), expired, forced, dropped (drop_entry), rearmed, reused, template_invalidated.'),
  linkPackets: f('tunvs_link_packets_total', 'counter', [...LINK, 'direction'], 'Packets read (rx) and written (tx) per device queue and worker.'),
  linkBytes: f('tunvs_link_bytes_total', 'counter', [...LINK, 'direction'], 'Bytes read (rx) and written (tx) per device queue and worker.'),
  linkBatches: f('tunvs_link_batches_total', 'counter', LINK, 'Read batches per device queue and worker.'),
  linkDrops: f('tunvs_link_drops_total', 'counter', [...LINK, 'direction', 'reason'], 'Packets lost at the device: tx queue full (dropped), read/write errors (error).'),

  // health checks (keepalived.conf checkers)
  rsUp: f('tunvs_realserver_up', 'gauge', RS, '1 while every checker of the real server passes, else 0.'),
  rsTransitions: f('tunvs_realserver_transitions_total', 'counter', RS, 'Health state changes of the real server (up to down and back).'),
  checkDuration: f('tunvs_healthcheck_duration_seconds', 'gauge', CHECK, 'How long the last check took.'),
  checkError: f('tunvs_healthcheck_last_error', 'gauge', CHECK, 'Kind of the last check failure (0 passed, 1 refused, 2 timeout, 3 network, 4 HTTP status, 5 digest, 6 content, 7 script failed, 8 script error, 9 TLS, 10 other).'),
  checkTotal: f('tunvs_healthcheck_checks_total', 'counter', [...CHECK, 'result'], 'Checks run, by result (ok, failed).'),

  // VRRP (fed by the VRRP runtime)
  vrrpState: f('tunvs_vrrp_state', 'gauge', VRRP, 'VRRP instance state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, as keepalived numbers them).'),
  vrrpPrio: f('tunvs_vrrp_priority_effective', 'gauge', VRRP, 'Effective priority (base plus tracking adjustments).'),
  vrrpBase: f('tunvs_vrrp_priority_base', 'gauge', VRRP, 'Configured priority.'),
  vrrpSent: f('tunvs_vrrp_adverts_sent_total', 'counter', VRRP, 'Advertisements sent.'),
  vrrpRcvd: f('tunvs_vrrp_adverts_received_total', 'counter', VRRP, 'Advertisements received and accepted.'),
  vrrpDiscarded: f('tunvs_vrrp_adverts_discarded_total', 'counter', [...VRRP, 'reason'], 'Advertisements received and discarded, by reason.'),
  vrrpBecome: f('tunvs_vrrp_become_master_total', 'counter', VRRP, 'Transitions to MASTER.'),
  vrrpRelease: f('tunvs_vrrp_release_master_total', 'counter', VRRP, 'Transitions from MASTER.'),
  vrrpTransitions: f('tunvs_vrrp_transitions_total', 'counter', VRRP, 'State changes of the instance.'),
  vrrpPrioZero: f('tunvs_vrrp_priority_zero_total', 'counter', [...VRRP, 'direction'], 'Priority-0 advertisements sent and received.'),

  // connection sync (fed by the sync runtime)
  syncMessages: f('tunvs_sync_messages_total', 'counter', [...SYNC, 'direction'], 'Sync messages sent (master) and received (backup).'),
  syncRecords: f('tunvs_sync_records_total', 'counter', [...SYNC, 'direction'], 'Connection records sent, received, and applied to the table.'),
  syncDrops: f('tunvs_sync_drops_total', 'counter', [...SYNC, 'reason'], 'Sync messages or records dropped, by reason.'),

  // control plane
  reloads: f('tunvs_reloads_total', 'counter', ['result'], 'Configuration reloads (SIGHUP), ok or failed (the running rules kept).'),
  reloadOk: f('tunvs_config_last_reload_successful', 'gauge', [], '1 if the last reload applied, 0 if it failed.'),
  reloadTime: f('tunvs_config_last_reload_success_timestamp_seconds', 'gauge', [], 'When the configuration was last applied (start or reload).'),
  controlOps: f('tunvs_control_operations_total', 'counter', ['op'], 'Rule changes applied to the director, from any source (tunvsadm, console, reloads, health checks).'),
  consoleMutations: f('tunvs_console_mutations_total', 'counter', ['op', 'result'], 'Mutations asked through the console or its API, by result (ok or the kernel error code).'),
  loginFailures: f('tunvs_console_login_failures_total', 'counter', [], 'Refused console logins and API tokens.'),
  snapshotSeconds: f('tunvs_metrics_snapshot_seconds', 'gauge', [], 'Time the previous scrape held the packet thread (counter snapshot).'),
  buildInfo: f('tunvs_build_info', 'gauge', ['version'], 'Always 1; the tunvs version as a label.'),
} as const satisfies Record<string, FamilyDef>;

/** A family's key in FAMILIES. */
export type FamilyKey = keyof typeof FAMILIES;
