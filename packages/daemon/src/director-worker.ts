/**
 * The body of one worker thread of a multi-worker tunvsd (workers.ts): one Director on the
 * link slot the main thread gives it, applying the control operations the main thread
 * broadcasts, in the order they arrive, and answering snapshot requests (services with
 * counters, named counters, connections) for the aggregated listings.
 *
 * ARP: the steering program sends every ARP frame to slot 0, so only worker 0 sees the
 * replies to the requests the others send. Worker 0 hands every ARP reply it receives to
 * the main thread, which passes it on to the other workers; each feeds it to its Director
 * as if its own link had received it (its neighbour cache learns the MAC and sends what was
 * waiting for it). ARP requests stay with worker 0, which answers them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Director } from '@tunvs/engine';
import type { MarkRule } from '@tunvs/engine';
import type { Link, PacketBatch } from '@tunvs/link';
import { MemoryLink } from '@tunvs/link';
import { openPacketSlots, openXdpSlots } from '@tunvs/xdp';
import type { PacketLink, XdpLink } from '@tunvs/xdp';
import { socketCounters } from './xdp-device.js';
import { formatCpuList, pinThread, threadCpus } from '@tunvs/hostnet';
import { ARP_FRAME_LEN, ArpField, ArpOp, EthField, EtherType, reasonName } from '@tunvs/packet';
import type { Collector } from '@tunvs/metrics';
import type * as MetricsLib from '@tunvs/metrics';
import { DirectorSync, newSyncRecord } from '@tunvs/sync';
import type { SyncBackupSettings, SyncMasterSettings, SyncSender } from '@tunvs/sync';
import { unpackSyncRecord } from './workers.js';
import type { FromWorker, ToWorker, WorkerLinkSpec, WorkerOp, WorkerSetup } from './workers.js';

const OPER = EthField.HEADER_LEN + ArpField.OPER;

/** An ARP reply at `off` (untagged Ethernet: what the steering program passes as ARP). */
function isArpReply(buf: Uint8Array, off: number, len: number): boolean {
  return (
    len >= ARP_FRAME_LEN &&
    buf[off + EthField.ETHERTYPE] === EtherType.Arp >>> 8 &&
    buf[off + EthField.ETHERTYPE + 1] === (EtherType.Arp & 255) &&
    buf[off + OPER] === 0 &&
    buf[off + OPER + 1] === ArpOp.Reply
  );
}

function openLink(spec: WorkerLinkSpec): XdpLink | PacketLink | MemoryLink {
  if (spec.kind === 'xdp') return openXdpSlots(spec.desc, [spec.slot])[0]!;
  if (spec.kind === 'packet') return openPacketSlots(spec.desc, [spec.slot])[0]!;
  return new MemoryLink('tap', spec.mtu, `worker-mem`);
}

/**
 * The link as the Director reads it; worker 0's copy of each ARP reply goes to `arp` (ARP
 * frames only arrive on slot 0, so the other workers skip the scan).
 */
function withArpCopy(link: Link, arp: ((frame: Uint8Array) => void) | null): Link {
  if (arp === null) return link;
  return {
    kind: link.kind,
    name: link.name,
    mtu: link.mtu,
    vnetHdrLen: link.vnetHdrLen,
    counters: link.counters,
    onBatch(handler: (b: PacketBatch) => void): void {
      link.onBatch((b) => {
        const buf = b.buf;
        // the copy keeps the vnet header: the other workers' links have the same one
        const v = link.vnetHdrLen;
        for (let i = 0; i < b.count; i++) {
          const off = b.offsets[i]!;
          const len = b.lengths[i]!;
          if (isArpReply(buf, off + v, len - v)) arp(buf.slice(off, off + len));
        }
        handler(b);
      });
    },
    writeBatch: (b) => link.writeBatch(b),
    close: () => link.close(),
  };
}

function run(metrics: typeof MetricsLib | null): void {
  const port = parentPort;
  if (port === null) throw new Error('director-worker.js runs as a worker thread');
  const setup = workerData as WorkerSetup;
  const post = (m: FromWorker): void => port.postMessage(m);
  // on its core first, so that its table (and its AF_XDP sockets' rings) are allocated near
  // it; the UMEM and the AF_PACKET rings are the main thread's, made when the link opened
  if (setup.cpu !== undefined) pinThread([setup.cpu]);
  const raw = openLink(setup.link);
  const link = withArpCopy(raw, setup.index === 0 ? (frame) => post({ t: 'arp', frame }) : null);
  const o = setup.director;
  let collector: Collector | null = null;
  const director = new Director({
    links: [link],
    mac: Uint8Array.from(o.mac),
    addresses: o.addresses,
    ...(o.gateway ? { gateway: o.gateway } : {}),
    ...(o.sourceAddress ? { sourceAddress: o.sourceAddress } : {}),
    connCapacity: o.connCapacity,
    ...(o.ftpPorts ? { ftpPorts: o.ftpPorts } : {}),
    conntrack: o.conntrack,
    // the metrics collector keeps the totals of deleted services
    onEvent: (ev) => collector?.onDirectorEvent(ev),
  });
  // this worker's part of /metrics: the main thread sums the workers' snapshots
  if (metrics !== null) collector = new metrics.Collector({ director, links: () => [raw], reasonName, worker: setup.index });
  // connection sync: this worker's master fills messages from its own connections and posts
  // each complete one (copied, transferred) to the main thread, which sends it; its backup
  // applies the records the main thread routes here (the flows hashed to this worker)
  const sync = new DirectorSync(director);
  const syncSender: SyncSender = {
    send(buf, len, done) {
      const msg = buf.slice(0, len);
      port.postMessage({ t: 'syncMsg', buf: msg } satisfies FromWorker, [msg.buffer]);
      done(null);
    },
  };
  const rec = newSyncRecord();
  const injected: PacketBatch = { buf: new Uint8Array(0), offsets: new Uint32Array(1), lengths: new Uint32Array(1), count: 1 };
  const apply = (op: WorkerOp, args: unknown[]): void => {
    switch (op) {
      case 'setMarks':
        director.marks.set(args[0] as MarkRule[]);
        return;
      case 'setSloppyTcp':
        director.sloppyTcp = args[0] as boolean;
        return;
      case 'syncStartMaster':
        if (sync.master !== null) sync.stopMaster(true);
        sync.startMaster(syncSender, args[0] as SyncMasterSettings);
        return;
      case 'syncConfigureMaster':
        sync.master?.configure(args[0] as Partial<SyncMasterSettings>);
        return;
      case 'syncStopMaster':
        sync.stopMaster(true);
        return;
      case 'syncStartBackup':
        if (sync.backup !== null) sync.stopBackup();
        sync.startBackup(args[0] as Partial<SyncBackupSettings>);
        return;
      case 'syncConfigureBackup':
        sync.backup?.configure(args[0] as Partial<SyncBackupSettings>);
        return;
      case 'syncStopBackup':
        sync.stopBackup();
        return;
      case 'relayLocalProtocol': {
        const protocol = args[0] as number;
        director.onLocalProtocol(protocol, args[1] ? (datagram) => post({ t: 'local', protocol, datagram }) : null);
        return;
      }
      default:
        (director[op] as (...a: unknown[]) => void).apply(director, args);
    }
  };
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'op':
        try {
          apply(m.op, m.args);
        } catch (e) {
          post({ t: 'failed', op: m.op, seq: m.seq, message: (e as Error).message });
        }
        return;
      case 'snapshot':
        post({
          t: 'snapshot',
          id: m.id,
          snap: {
            services: director.listServices(),
            stats: director.stats(),
            connTableSize: director.info().connTableSize,
            sync: { master: sync.master ? { ...sync.master.counters } : null, applied: sync.backup ? { ...sync.backup.applied } : null },
          },
        });
        return;
      case 'conns':
        post({ t: 'conns', id: m.id, conns: director.listConnections() });
        return;
      case 'metrics':
        // only asked of workers started with metrics (WorkerPool.metrics)
        if (collector === null) return;
        void collector.snapshot({ conntrack: m.conntrack }).then((snap) => {
          port.postMessage({ t: 'metrics', id: m.id, snap } satisfies FromWorker, [snap.svc.buffer as ArrayBuffer, snap.dest.buffer as ArrayBuffer]);
        });
        return;
      case 'syncRecords': {
        const b = sync.backup;
        if (b === null) return;
        const now = Date.now();
        for (let i = 0; i < m.n; i++) b.apply(unpackSyncRecord(m.recs, i, rec), now);
        return;
      }
      case 'arp':
        injected.buf = m.frame;
        injected.offsets[0] = 0;
        injected.lengths[0] = m.frame.length;
        injected.count = 1;
        director.processBatch(link, injected);
        return;
      case 'frames': {
        if (!(raw instanceof MemoryLink)) return post({ t: 'sent', id: m.id, frames: [] });
        for (const f of m.frames) raw.inject(f);
        raw.deliver();
        post({ t: 'sent', id: m.id, frames: raw.drain() });
        return;
      }
      case 'originate':
        if (m.kind === 'frame') director.sendFrame(m.data);
        else if (!director.sendDatagram(m.data)) post({ t: 'unsent', dst: ((m.data[16]! << 24) | (m.data[17]! << 16) | (m.data[18]! << 8) | m.data[19]!) >>> 0 });
        return;
      case 'stop': {
        sync.stopMaster(true);
        sync.stopBackup();
        // where frames were lost on this worker's socket, for the exit log (read before it closes)
        const counters = raw instanceof MemoryLink || raw.isClosed ? null : socketCounters(raw);
        director.stop();
        post({ t: 'stopped', link: counters });
        port.close();
        return;
      }
    }
  });
  director.start();
  post({ t: 'ready', index: setup.index, link: raw.name, cpus: formatCpuList(threadCpus()) });
}

// @tunvs/metrics only in a daemon that serves /metrics
run((workerData as WorkerSetup).metrics ? await import('@tunvs/metrics') : null);
