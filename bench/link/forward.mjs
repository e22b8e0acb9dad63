// The forwarder of the link benchmark: a router in JS between two interfaces, A (client
// side) and B (server side). Every IPv4 frame read on one side gets new MACs and TTL - 1
// (@tunvs/packet decTtl) and is written to the other side in the same batch.
//   node forward.mjs '{"kind":"xdp"|"packet"|"packet-gso"|"tap"|"tap-gso","a":IF,"b":IF,
//                      "aPeerMac":MAC,"bPeerMac":MAC,"aMac"?:MAC,"bMac"?:MAC,"server":IP,"cpuProfile"?:bool}'
// kind xdp:    @tunvs/xdp openXdp on A and B (B shares A's UMEM: frames cross without a copy)
// kind packet: @tunvs/xdp openPacket (AF_PACKET rings, qdisc bypass) on A and B, with the
//              same steering program as a socket filter; packet-gso adds PACKET_VNET_HDR
// kind tap:    @tunvs/tuntap openTap creates TAP devices A and B (the bench moves them into
//              the client's and the server's namespaces); tap-gso adds IFF_VNET_HDR + offloads
// Prints {"ready":true,...}; on {"op":"stats"} prints counters; exits when stdin closes.
import { openXdp, openPacket } from '@tunvs/xdp';
import { openTap, VNET_HDR_LEN } from '@tunvs/tuntap';
import { decTtl } from '@tunvs/packet';

const o = JSON.parse(process.argv[2]);
const mac = (s) => Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
const ip = (s) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0) >>> 0;

let linkA;
let linkB;
let macA;
let macB;
let vnet = 0;
let close;
if (o.kind === 'xdp') {
  const server = o.server;
  const steerTo = [{ addr: server, proto: 'udp' }, { addr: server, proto: 'tcp' }, { addr: server, proto: 'icmp' }];
  const pa = openXdp({ ifname: o.a, steer: { vips: steerTo }, hostAddresses: false, batchSize: 64 });
  const pb = openXdp({ ifname: o.b, steer: { reals: steerTo }, hostAddresses: false, batchSize: 64, shareUmemWith: pa });
  linkA = pa.links[0];
  linkB = pb.links[0];
  macA = pa.mac;
  macB = pb.mac;
  close = () => {
    pa.close();
    pb.close();
  };
} else if (o.kind === 'packet' || o.kind === 'packet-gso') {
  // the same steering as AF_XDP: a socket filter keeps only these frames
  const server = o.server;
  const steerTo = [{ addr: server, proto: 'udp' }, { addr: server, proto: 'tcp' }, { addr: server, proto: 'icmp' }];
  const vnetHdr = o.kind === 'packet-gso';
  const pa = openPacket({ ifname: o.a, steer: { vips: steerTo }, hostAddresses: false, vnetHdr });
  const pb = openPacket({ ifname: o.b, steer: { reals: steerTo }, hostAddresses: false, vnetHdr });
  vnet = vnetHdr ? VNET_HDR_LEN : 0;
  linkA = pa.links[0];
  linkB = pb.links[0];
  macA = pa.mac;
  macB = pb.mac;
  close = () => {
    pa.close();
    pb.close();
  };
} else {
  const gso = o.kind === 'tap-gso';
  const da = openTap({ name: o.a, mac: o.aPeerMac, vnetHdr: gso, up: false, batchSize: 64 });
  const db = openTap({ name: o.b, mac: o.bPeerMac, vnetHdr: gso, up: false, batchSize: 64 });
  linkA = da.link;
  linkB = db.link;
  macA = mac(o.aMac);
  macB = mac(o.bMac);
  vnet = gso ? VNET_HDR_LEN : 0;
  close = () => {
    da.close();
    db.close();
  };
}

const aPeer = mac(o.aPeerMac);
const bPeer = mac(o.bPeerMac);
const server = ip(o.server);
let forwarded = 0;
let ignored = 0;

/** Forward the batch read on `from` to `to`: dst MAC = peer, src MAC = ours, TTL - 1. */
function forwarder(to, dstMac, srcMac, toServer) {
  const out = { buf: new Uint8Array(0), offsets: new Uint32Array(256), lengths: new Uint32Array(256), count: 0 };
  return (b) => {
    const buf = b.buf;
    out.buf = buf;
    let n = 0;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const e = off + vnet;
      if (b.lengths[i] < vnet + 34 || buf[e + 12] !== 0x08 || buf[e + 13] !== 0x00) {
        ignored++;
        continue;
      }
      const l3 = e + 14;
      const dst = ((buf[l3 + 16] << 24) | (buf[l3 + 17] << 16) | (buf[l3 + 18] << 8) | buf[l3 + 19]) >>> 0;
      if ((dst === server) !== toServer || buf[l3 + 8] <= 1) {
        ignored++;
        continue;
      }
      for (let k = 0; k < 6; k++) {
        buf[e + k] = dstMac[k];
        buf[e + 6 + k] = srcMac[k];
      }
      decTtl(buf, l3);
      out.offsets[n] = off;
      out.lengths[n] = b.lengths[i];
      n++;
    }
    out.count = n;
    if (n) forwarded += to.writeBatch(out);
  };
}

linkA.onBatch(forwarder(linkB, bPeer, macB, true));
linkB.onBatch(forwarder(linkA, aPeer, macA, false));

const hex = (m) => Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');
process.stdout.write(JSON.stringify({ ready: true, kind: o.kind, macA: hex(macA), macB: hex(macB) }) + '\n');

let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!line.trim()) continue;
    const c = (l) => ({ rx: l.counters.rxPackets, tx: l.counters.txPackets, txDropped: l.counters.txDropped, batches: l.counters.rxBatches });
    process.stdout.write(JSON.stringify({ op: 'stats', forwarded, ignored, a: c(linkA), b: c(linkB) }) + '\n');
  }
});
process.stdin.on('end', () => {
  close();
  process.exit(0);
});
