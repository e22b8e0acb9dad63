/**
 * VRRP on tunvsd's kernel-bypass interface itself (device kind xdp, else packet): the
 * common keepalived layout, the instance on the NIC that carries the VIP. Two tunvsd
 * directors, each owning a veth by AF_XDP (AF_PACKET when AF_XDP cannot open), serve one
 * LVS-DR VIP; a vrrp_instance on that same interface decides which of them is the host of
 * the VIP on the segment. The adverts go out and come in through the Directors' links (the
 * steering program hands protocol 112 with their VRID to the Director; another router's
 * VRID on the segment still reaches the kernel), the master answers ARP for the VIP
 * and the backup stays silent. The master is SIGKILLed: the backup takes over within a
 * second or so, announces the VIP by gratuitous ARP, and the client's next requests (its
 * ARP cache not flushed) reach the real server through it. A runs one Director, B two
 * workers: B hears A's adverts on whichever worker they hash to, stays silent on worker 0
 * (which gets every ARP frame) and, as master, sends adverts and gratuitous ARP from worker
 * 0, each worker forwarding the connections hashed to it.
 *
 *   client 10.86.0.50 ─┐
 *   rs 10.86.0.30 ─────┼─ br0 ─┬─ vap ═ va0 [tunvsd A 10.86.0.1, priority 150]
 *   (VIP .100 on lo)   │       └─ vbp ═ vb0 [tunvsd B 10.86.0.2, priority 100]
 *   all in one segment; the directors' veths carry no kernel address
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '@tunvs/cli';
import { fixturePath, isRoot, openLab } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { RS_SERVICE, TUNVSD, waitFor } from '../fixtures/daemon-lab.js';

const VIP = '10.86.0.100';
const RS = '10.86.0.30';

interface InstanceStatus {
  name: string;
  state: string;
  master: { address: string; self: boolean } | null;
  masterDown: number;
  counters: { advertsReceived: number; advertsSent: number };
}

async function vrrpState(sock: string): Promise<InstanceStatus | null> {
  try {
    const c = await ControlClient.connect(sock);
    try {
      const st = (await c.call('vrrpStatus')) as { instances: InstanceStatus[] };
      return st.instances[0] ?? null;
    } finally {
      c.close();
    }
  } catch {
    return null;
  }
}

async function until<T>(pred: () => Promise<T | null | false | undefined> | T | null | false | undefined, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('VRRP on the AF_XDP/AF_PACKET interface: only the master answers ARP for the VIP; the backup takes over after a kill', { skip: !isRoot() && 'needs root' }, async (t) => {
  const t0 = Date.now();
  const lab = openLab(t, 'lvx');
  const work = mkdtempSync(join(tmpdir(), 'lvx-vrrp-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const seg = lab.netns('sg');
  const cl = lab.netns('cl');
  const rs = lab.netns('rs');
  lab.bridge(seg, 'br0');
  for (const d of ['va', 'vb']) {
    lab.veth({ name: `${d}0`, ns: seg }, { name: `${d}p`, ns: seg });
    lab.ip(seg, `link set ${d}p master br0`);
    // frames bridged from local sockets carry partial checksums: completed at this port
    lab.exec(seg, 'ethtool', ['-K', `${d}p`, 'tx', 'off']);
  }
  lab.veth({ name: 'vcl', ns: seg }, { name: 'eth0', ns: cl, address: '10.86.0.50/24' });
  lab.ip(seg, 'link set vcl master br0');
  lab.veth({ name: 'vrs', ns: seg }, { name: 'eth0', ns: rs, address: `${RS}/24` });
  lab.ip(seg, 'link set vrs master br0');
  lab.ip(rs, `addr add ${VIP}/32 dev lo`);
  lab.exec(rs, 'sh', ['-ec', 'for k in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$k/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$k/arp_announce; done']);
  const server = lab.spawn(rs, process.execPath, [RS_SERVICE, '--name', 'rs', '--http-port', '80', '--udp-port', '7'], 'rs');
  await server.line((s) => s.startsWith('rs-service'), 15_000);
  t.comment(`rs up: ${Date.now() - t0} ms`);

  // AF_XDP where it opens, else AF_PACKET; neither: skipped with the reason
  const tried = lab.exec(seg, process.execPath, [fixturePath('fixtures/xdp-try-open.mjs'), JSON.stringify([{ kind: 'xdp', ifname: 'va0' }, { kind: 'packet', ifname: 'va0', steer: {} }])], { timeoutMs: 20_000 });
  const opened = tried.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ok: boolean; message?: string });
  const kind = opened[0]?.ok ? 'xdp' : opened[1]?.ok ? 'packet' : null;
  if (kind === null) {
    await t.test('the failover on a kernel-bypass link', { skip: `neither AF_XDP nor AF_PACKET opens here: ${opened.map((o) => o.message).join('; ') || tried.stderr}` }, () => {});
    return;
  }
  t.comment(`link: ${kind}: ${Date.now() - t0} ms`);

  const macOf = (dev: string): string => /link\/ether ([0-9a-f:]+)/.exec(lab.ip(seg, `link show dev ${dev}`))![1]!;
  const dirs = [
    { name: 'A', dev: 'va0', addr: '10.86.0.1', priority: 150, workers: 1, mac: macOf('va0'), proc: null as Child | null, sock: join(work, 'a.sock') },
    { name: 'B', dev: 'vb0', addr: '10.86.0.2', priority: 100, workers: 2, mac: macOf('vb0'), proc: null as Child | null, sock: join(work, 'b.sock') },
  ];
  for (const d of dirs) {
    const k = join(work, `keepalived-${d.name}.conf`);
    writeFileSync(k, `vrrp_instance VI_1 {
    state BACKUP
    interface ${d.dev}
    virtual_router_id 61
    priority ${d.priority}
    version 3
    advert_int 0.2
    virtual_ipaddress {
        ${VIP}/24
    }
}
`);
    const file = join(work, `tunvsd-${d.name}.json`);
    writeFileSync(file, JSON.stringify({
      device: { name: d.dev, kind, addresses: [`${d.addr}/24`] },
      socket: d.sock,
      workers: d.workers,
      keepalivedConf: k,
      services: [{ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr', dests: [{ addr: RS, port: 80, method: 'route' }] }],
    }));
    d.proc = lab.spawn(seg, process.execPath, [TUNVSD, '-f', file], `tunvsd ${d.name}`);
  }
  const [a, b] = dirs as [typeof dirs[0], typeof dirs[0]];
  for (const d of dirs) {
    await waitFor(() => existsSync(d.sock) || d.proc!.exitCode !== null, 30_000, `tunvsd ${d.name}'s socket`);
    t.equal(d.proc!.exitCode, null, `tunvsd ${d.name} runs with VRRP on its ${kind} interface${d.proc!.exitCode === null ? '' : `: ${d.proc!.stderr.slice(-600)}`}`);
  }
  if (a.proc!.exitCode !== null || b.proc!.exitCode !== null) return;
  t.comment(`sockets: ${Date.now() - t0} ms`);
  const stA = await until(async () => ((await vrrpState(a.sock))?.state === 'MASTER' ? vrrpState(a.sock) : null), 10_000, 'A MASTER');
  const stB = await until(async () => {
    const s = await vrrpState(b.sock);
    return s?.state === 'BACKUP' && s.counters.advertsReceived > 0 ? s : null;
  }, 10_000, 'B BACKUP, hearing A');
  t.equal(stA!.state, 'MASTER', 'A (priority 150) is master');
  t.equal(stB.master?.address, a.addr, 'B hears A\'s adverts through its link and names it master');
  t.comment(`both up, A master: ${Date.now() - t0} ms`);

  // another VRRP router on the segment (a host keepalived for VRID 62, say): its adverts
  // are not the Directors' (they run VRID 61) and must reach the kernel of B's interface
  // (seen by a tcpdump there); on AF_XDP, A's VRID 61 adverts are taken off by the steering
  // program before any tap sees them (AF_PACKET copies frames, the kernel keeps them all)
  {
    const heardBefore = (await vrrpState(b.sock))!.counters.advertsReceived;
    const dump = lab.spawn(seg, 'tcpdump', ['-i', b.dev, '-nn', '-l', 'ip proto 112'], 'tcpdump vrrp');
    await until(() => dump.stderr.includes('listening on'), 5000, 'tcpdump listening');
    const foreign = JSON.stringify({ src: '10.86.0.50', vrid: 62, priority: 100, version: 3, adverInt: 20, vips: ['10.86.0.200'] });
    const sent = lab.exec(cl, process.execPath, [fixturePath('fixtures/vrrp-inject.mjs'), 'eth0', foreign, foreign, foreign], { timeoutMs: 10_000 });
    t.match(sent.stdout, /"sent":3/, 'three VRID 62 adverts sent from the client\'s namespace');
    await new Promise((r) => setTimeout(r, 800)); // A advertises every 0.2 s meanwhile
    dump.proc.kill('SIGINT');
    await dump.wait(3000);
    const vrids = dump.lines.map((l) => /vrid (\d+)/.exec(l)?.[1]).filter((v) => v !== undefined);
    t.equal(vrids.filter((v) => v === '62').length, 3, `the kernel of ${b.dev} gets every VRID 62 advert (tcpdump: ${vrids.join(' ') || 'nothing'})`);
    if (kind === 'xdp') t.equal(vrids.filter((v) => v === '61').length, 0, 'and none of VRID 61: those went to the Director');
    const st = (await vrrpState(b.sock))!;
    t.ok(st.counters.advertsReceived > heardBefore, `B's Director kept hearing A meanwhile (${st.counters.advertsReceived - heardBefore} adverts)`);
    t.equal(st.state, 'BACKUP', 'B is still backup');
    t.equal(st.master?.address, a.addr, 'with A as master');
  }

  // the client asks who has the VIP: only the master answers
  const arpReplies = async (run: () => void): Promise<string[]> => {
    const dump = lab.spawn(cl, 'tcpdump', ['-i', 'eth0', '-nn', '-e', '-l', 'arp'], 'tcpdump');
    // tcpdump says "listening on" on stderr: wait for it
    await until(() => dump.stderr.includes('listening on'), 5000, 'tcpdump listening');
    run();
    await new Promise((r) => setTimeout(r, 600));
    dump.proc.kill('SIGINT');
    await dump.wait(3000);
    return dump.lines.filter((l) => new RegExp(`Reply ${VIP.replace(/\./g, '\\.')} is-at`).test(l)).map((l) => /is-at ([0-9a-f:]+)/.exec(l)![1]!);
  };
  const curl = (): string => lab.exec(cl, 'curl', ['-s', '-m', '2', `http://${VIP}/`]).stdout.trim();
  let body = '';
  const replies = await arpReplies(() => {
    lab.exec(cl, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    body = curl();
  });
  t.equal(body, 'rs', 'the client reaches the real server through the VIP');
  t.ok(replies.length > 0, 'the VIP was answered');
  t.same([...new Set(replies)], [a.mac], 'only the master (A) answers ARP for the VIP');
  t.match(lab.exec(cl, 'ip', ['neigh', 'show', VIP]).stdout, a.mac, 'the client sends to A');

  // the master dies: B takes over and announces the VIP; the client's cache is not flushed
  const killedAt = Date.now();
  a.proc!.proc.kill('SIGKILL');
  await a.proc!.wait(5000);
  await until(async () => (await vrrpState(b.sock))?.state === 'MASTER', 10_000, 'B MASTER');
  const took = Date.now() - killedAt;
  t.ok(took < 5000, `B MASTER ${took} ms after the kill (master down ${stB.masterDown} s)`);
  await until(() => lab.exec(cl, 'ip', ['neigh', 'show', VIP]).stdout.includes(b.mac), 5000, 'the client learning B\'s MAC for the VIP');
  t.pass('the gratuitous ARP moved the client to B');
  const after: string[] = [];
  for (let i = 0; i < 3; i++) after.push(curl());
  t.same(after, ['rs', 'rs', 'rs'], 'the client\'s next requests reach the real server through B');
  t.comment(`failover to working requests: ${Date.now() - killedAt} ms`);
  const stats = (await vrrpState(b.sock))!;
  t.ok(stats.counters.advertsSent > 0, 'B sends adverts as master');
  const log = b.proc!.stderr.split('\n').filter((l) => l.includes('"vrrp transition"'));
  t.ok(log.some((l) => l.includes('"to":"MASTER"')), 'B logged its transition');
  b.proc!.proc.kill('SIGTERM');
  t.equal(await b.proc!.wait(10_000), 0, 'B stops cleanly');
  t.comment(`total ${Date.now() - t0} ms`);
});
