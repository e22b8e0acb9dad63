/**
 * tunvsd on a kernel-bypass link (device kind "xdp", then "packet", then "packet" with a vnet
 * header): the director owns a veth
 * (no kernel address on it) bridged with a client and two real servers, its addresses in
 * userspace. One topology serves both methods: a NAT service (VIP .100) and a DR service
 * (VIP .101), real HTTP and UDP through each, in one pass per link kind; the namespaces are
 * shared by both passes. On AF_XDP, a service deleted and added again with tunvsadm while
 * running is steered at once (its traffic reaches the director), and the XDP program leaves
 * with the daemon. With a vnet header (AF_PACKET's PACKET_VNET_HDR) the veth's peer keeps
 * TSO, so 64 KiB GSO frames cross the director: a download through the NAT VIP arrives
 * whole and intact, with its checksums verified by the client (the client's bridge port
 * has no checksum offload, so the kernel finishes and checks every segment's checksum
 * from what the director wrote), and the link counted frames read whole from their copy
 * (longer than a ring frame). A missing interface fails with @tunvs/xdp's message. A kind that does not
 * open on this kernel (probed on a scratch veth) is skipped with the reason; neither: the
 * test is.
 *
 *   client 10.83.0.2 ─┐
 *   rs1, rs2 ─────────┼─ br0 ─ xd0p ═ xd0 [tunvsd: 10.83.0.1/24, 10.83.1.1/24, VIPs .100 NAT, .101 DR]
 *   rs: 10.83.1.1x (NAT: replies from it go via 10.83.1.1 by a source rule),
 *       10.83.0.1x (DR: VIP .101 on lo, replies straight to the client)
 */
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TUNVSD } from '../fixtures/daemon-lab.js';
import { BYPASS_KINDS, bypassGate, bypassPort, bridgedHost, checkNatDr, exitNote, labClient, openBypassLab, natDrServices, spawnTunvsd, startRealServers, tunvsadm } from '../fixtures/bypass-lab.js';

const gate = bypassGate('lxo');
const NAT_VIP = '10.83.0.100';
const DR_VIP = '10.83.0.101';

t.test('tunvsd on AF_XDP and AF_PACKET: LVS-NAT and LVS-DR with real HTTP and UDP', { skip: gate.skip }, async (t) => {
  const { lab, work } = openBypassLab(t, 'lxo', 'xdp');
  const dir = lab.netns('xd');
  lab.bridge(dir, 'br0');
  bypassPort(lab, { name: 'xd0', ns: dir }, { name: 'xd0p', ns: dir }, 'br0');
  const cl = bridgedHost(lab, dir, 'br0', 'vcl', 'xc', '10.83.0.2/24', '10.83.0.1');
  // DR answers (from the VIP) go straight to the client on the shared segment
  const reals = await startRealServers(lab, { sw: dir, br: 'br0', short: 'xr', nat: '10.83.1', natGateway: '10.83.1.1', dr: { net: '10.83.0', vip: DR_VIP, gateway: '10.83.0.1' }, udp: true });
  const sock = join(work, 'tunvsd.sock');

  const passes = [...BYPASS_KINDS.map((kind) => ({ kind, vnetHdr: false })), { kind: 'packet' as const, vnetHdr: true }];
  for (const { kind, vnetHdr } of passes) {
    const name = vnetHdr ? `${kind}-vnet` : kind;
    const why = gate.why(kind);
    if (why !== false) {
      await t.test(`the pass on ${name}`, { skip: why }, () => {});
      continue;
    }
    const config = {
      // kind packet takes a vnet header unless told not to: the first packet pass says false
      device: { name: 'xd0', kind, ...(kind === 'packet' ? { vnetHdr } : {}), addresses: ['10.83.0.1/24', '10.83.1.1/24'] },
      socket: sock,
      services: natDrServices(NAT_VIP, DR_VIP, reals),
    };
    if (vnetHdr) {
      // GSO frames reach the director (its peer's TSO on); the client's and the servers'
      // bridge ports finish and the receivers check every checksum the director wrote
      lab.exec(dir, 'ethtool', ['-K', 'xd0p', 'tx', 'on']);
      for (const port of ['vcl', 'vrs1', 'vrs2']) lab.exec(dir, 'ethtool', ['-K', port, 'tx', 'off']);
    }
    const d = await spawnTunvsd(lab, dir, { work, name, config, sock, waitMs: 20_000 });
    t.equal(d.exitCode, null, `tunvsd runs on ${name}${exitNote(d)}`);
    t.match(d.stderr, kind === 'xdp' ? /AF_XDP, 1 queue\(s\), XDP native mode, copy/ : vnetHdr ? /AF_PACKET, 1 socket, steered, vnet header \(GSO\)/ : /AF_PACKET, 1 socket, steered"/, 'the log names the link');

    checkNatDr(t, lab, cl, kind, NAT_VIP, DR_VIP, vnetHdr ? ' with a vnet header' : '');

    if (vnetHdr) {
      const file = join(work, 'download');
      const size = 16 << 20;
      const r = lab.exec(cl, 'sh', ['-ec', `curl -sS --max-time 60 -o ${file} http://${NAT_VIP}/bytes/${size}; wc -c < ${file}; tr -d x < ${file} | wc -c`], { timeoutMs: 70_000 });
      t.same(r.stdout.trim().split(/\s+/).map(Number), [size, 0], `16 MiB through the NAT VIP with GSO frames: whole, every byte as sent ${r.stderr}`);
    }

    if (kind === 'xdp') {
      // a NAT service deleted and added again at run time is steered again at once
      const r = tunvsadm(sock, ['-R'], `-D -t ${NAT_VIP}:80\n-A -t ${NAT_VIP}:80 -s rr\n-a -t ${NAT_VIP}:80 -r ${reals.nat[0]}:80 -m\n`);
      t.equal(r.status, 0, `tunvsadm -R ${r.stderr}`);
      const [late] = labClient(lab, cl, ['multi', `http:${NAT_VIP}:80:3`]);
      t.same(late, { counts: { rs1: 3 }, errors: 0 }, 'the service added again is reached through the link');
      const list = tunvsadm(sock, ['-L', '-n', '--stats']);
      t.match(list.stdout, /TCP\s+10\.83\.0\.100:80/, 'listed');
    }
    d.proc.kill('SIGTERM');
    t.equal(await d.wait(10_000), 0, `tunvsd on ${name} stops cleanly`);
    if (vnetHdr) {
      // the counters tunvsd logs as it stops: GSO frames (longer than a 2 KiB ring frame) came through
      const m = /"rxCopied":(\d+)/.exec(d.stderr);
      t.ok(m !== null && Number(m[1]) > 0, `the link read GSO frames whole (rxCopied ${m?.[1] ?? 'missing'})`);
      t.notMatch(d.stderr, /"rxTruncated":[1-9]/, 'no frame was dropped cut');
      lab.exec(dir, 'ethtool', ['-K', 'xd0p', 'tx', 'off']);
      for (const port of ['vcl', 'vrs1', 'vrs2']) lab.exec(dir, 'ethtool', ['-K', port, 'tx', 'on']);
    }
    if (kind === 'xdp') t.notMatch(lab.ip(dir, 'link show dev xd0'), /xdp/, 'the XDP program left with the daemon');
    rmSync(sock, { force: true });
  }

  // an interface that does not exist: the link's message (of a kind that opens here)
  const kind = gate.open[0]!;
  const file = join(work, 'nope.json');
  writeFileSync(file, JSON.stringify({ device: { name: 'nope0', kind, addresses: ['10.83.0.1/24'] }, socket: join(work, 's.sock'), services: [] }));
  const r = lab.exec(dir, process.execPath, [TUNVSD, '-f', file], { timeoutMs: 20_000 });
  t.not(r.status, 0, 'tunvsd refuses to start');
  t.match(r.stderr, new RegExp(`cannot open ${kind === 'xdp' ? 'AF_XDP' : 'AF_PACKET'} on nope0: no such interface in this network namespace`));
});
