// tunvs-realserver end to end, in namespaces <prefix>rsnd (sender: plays director and
// client) and <prefix>rssrv (real server with the VIP on lo, the lab's rs-service,
// tunvs-realserver); the prefix is TUNVS_LAB_PREFIX's (default lvs-).
// The sender writes hand-built Ethernet frames (IPIP around UDP / TCP SYN, and malformed
// ones) on its veth with an AF_PACKET socket (python3), and watches what comes back.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Proto } from '@tunvs/model';
import { EtherType, Ipv4View, packet, parseIpv4, parseMac } from '@tunvs/packet';
import { LAB_PREFIX, LAB_SKIP, ROOT, exists, must, namespaces, sh } from './lab-util.js';

const SND = `${LAB_PREFIX}rsnd`;
const SRV = `${LAB_PREFIX}rssrv`;
const RUN = `/run/tunvs-rl-test-${process.pid}`;
const SND_MAC = '02:00:0a:14:00:01';
const SRV_MAC = '02:00:0a:14:00:02';
const CLIENT = '10.20.0.1';
const RS = '10.20.0.2';
const VIP = '10.20.9.100';
const BIN = join(ROOT, 'packages/realserver/dist/bin.js');
const SERVICE = join(ROOT, 'scripts/lab.d/rs-service.mjs');

const SENDER_PY = `
import socket, sys, time, json
mode, frames, secs = sys.argv[1], sys.argv[2].split(','), float(sys.argv[3])
vip = sys.argv[4]
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
rx.bind(('eth0', 0)); rx.settimeout(0.05)
u = None
if mode == 'udp':
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('${CLIENT}', 40001)); u.settimeout(0.05)
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); tx.bind(('eth0', 0))
for f in frames:
    if f: tx.send(bytes.fromhex(f))
out = {'udp': None, 'synack': None, 'icmp': []}
end = time.time() + secs
while time.time() < end:
    if u is not None:
        try:
            d, a = u.recvfrom(2000); out['udp'] = [a[0], a[1], d.decode()]
        except socket.timeout:
            pass
    try:
        p, addr = rx.recvfrom(2000)
    except socket.timeout:
        p = None
    if p is not None and addr[2] != 4:
        ip = p[14:]; hl = (ip[0] & 15) * 4; src = socket.inet_ntoa(ip[12:16])
        if ip[9] == 1:
            out['icmp'].append([src, ip[hl], ip[hl + 1]])
        if ip[9] == 6 and src == vip:
            tcp = ip[hl:]
            out['synack'] = {'src': src, 'sport': tcp[0] * 256 + tcp[1], 'dport': tcp[2] * 256 + tcp[3],
                             'flags': tcp[13], 'ack': int.from_bytes(tcp[8:12], 'big')}
    if mode == 'udp' and out['udp'] and secs < 5: break
    if mode == 'syn' and out['synack'] and secs < 5: break
print(json.dumps(out))
`;

interface SendResult {
  udp: [string, number, string] | null;
  synack: { src: string; sport: number; dport: number; flags: number; ack: number } | null;
  icmp: [string, number, number][];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A UDP datagram with DF. */
const udpPacket = (src: number, dst: number, sport: number, dport: number, data: Uint8Array, ttl = 64): Uint8Array =>
  packet().ipv4({ src, dst, ttl, df: true }).udp({ sport, dport }).payload(data).build();
/** A TCP SYN with DF. */
const tcpSynPacket = (src: number, dst: number, sport: number, dport: number, seq: number, ttl = 64): Uint8Array =>
  packet().ipv4({ src, dst, ttl, df: true }).tcp({ sport, dport, seq, flags: 'S', window: 64240 }).build();
/** IPIP around `inner`, outer TTL = inner TTL. */
const ipipEncap = (inner: Uint8Array, src: number, dst: number): Uint8Array =>
  packet().ipv4({ src, dst, ttl: inner[8] ?? 64, df: true, protocol: Proto.IPIP }).payload(inner).build();
const ethernetFrame = (dst: Uint8Array, src: Uint8Array, ip: Uint8Array): Uint8Array =>
  packet().eth({ dst, src, etherType: EtherType.Ipv4 }).payload(ip).build();
const fixIpv4Checksum = (p: Uint8Array): void => new Ipv4View(p, 0, p.length).fillChecksum();
const frame = (ip: Uint8Array): Uint8Array => ethernetFrame(parseMac(SRV_MAC), parseMac(SND_MAC), ip);
const [client, rs, vip] = [CLIENT, RS, VIP].map(parseIpv4) as [number, number, number];

/** Send frames from the sender namespace and watch for `secs` (early exit on the answer). */
function send(mode: 'udp' | 'syn' | 'watch', frames: Uint8Array[], secs: number): SendResult {
  const r = sh('ip', ['netns', 'exec', SND, 'python3', '-c', SENDER_PY, mode, frames.map(hex).join(','), String(secs), VIP]);
  if (r.code !== 0) throw new Error(`sender failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SendResult;
}

function cleanup(): void {
  for (const ns of [SND, SRV]) {
    for (const l of sh('ip', ['netns', 'pids', ns]).stdout.split('\n')) {
      const pid = Number(l.trim());
      if (pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    sh('ip', ['netns', 'del', ns]);
  }
  rmSync(RUN, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFile(f: string, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (exists(f)) return true;
    await sleep(25);
  }
  return false;
}

/** Start tunvs-realserver in the server namespace; resolves with its pid once ready. */
async function startRealserver(extra: string[] = []): Promise<number> {
  const pidfile = join(RUN, 'realserver.pid');
  const log = openSync(join(RUN, 'realserver.log'), 'w');
  const child = spawn('ip', ['netns', 'exec', SRV, process.execPath, BIN, '--interface', 'eth0', '--pidfile', pidfile, ...extra], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  if (!(await waitFile(pidfile))) throw new Error(`tunvs-realserver did not start: ${readFileSync(join(RUN, 'realserver.log'), 'utf8')}`);
  return Number(readFileSync(pidfile, 'utf8'));
}

/** Ask for the counters (SIGUSR1) and return the last JSON line of the log. */
async function counters(pid: number): Promise<Record<string, number>> {
  const logf = join(RUN, 'realserver.log');
  const before = readFileSync(logf, 'utf8').length;
  process.kill(pid, 'SIGUSR1');
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    const s = readFileSync(logf, 'utf8').slice(before);
    const line = s.split('\n').find((l) => l.startsWith('{'));
    if (line) return JSON.parse(line) as Record<string, number>;
    await sleep(25);
  }
  throw new Error('no counters after SIGUSR1');
}

async function stop(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + 3000;
  while (exists(`/proc/${pid}`) && Date.now() < end) await sleep(25);
}

t.test('tunvs-realserver decapsulates IPIP into the local stack', { skip: LAB_SKIP }, async (t) => {
  cleanup();
  t.teardown(cleanup);
  mkdirSync(RUN, { recursive: true });
  must('ip', ['netns', 'add', SND]);
  must('ip', ['netns', 'add', SRV]);
  must('ip', ['-n', SND, '-batch', '-'], [
    `link add eth0 address ${SND_MAC} type veth peer name eth0 netns ${SRV} address ${SRV_MAC}`,
    'link set lo up',
    `addr add ${CLIENT}/24 dev eth0`,
    'link set eth0 up',
  ].join('\n') + '\n');
  // Strict rp_filter everywhere, to show tunvs-realserver copes with it.
  must('ip', ['netns', 'exec', SRV, 'sh', '-ec',
    'for k in all default eth0 lo; do echo 1 > /proc/sys/net/ipv4/conf/$k/rp_filter; done']);
  must('ip', ['-n', SRV, '-batch', '-'], ['link set lo up', `addr add ${RS}/24 dev eth0`, 'link set eth0 up'].join('\n') + '\n');

  const svcLog = openSync(join(RUN, 'service.log'), 'w');
  // VIP on lo + arp_ignore/arp_announce by the program itself (--setup); the service
  // starts after, so it binds a UDP socket on the VIP.
  let pid = await startRealserver(['--vip', VIP, '--setup']);
  spawn('ip', ['netns', 'exec', SRV, process.execPath, SERVICE, '--name', 'rs1', '--pidfile', join(RUN, 'service.pid')], {
    stdio: ['ignore', svcLog, svcLog],
  }).unref();
  closeSync(svcLog);
  t.ok(await waitFile(join(RUN, 'service.pid')), 'service up');

  t.match(sh('ip', ['-n', SRV, 'addr', 'show', 'lo']).stdout, /10\.20\.9\.100\/32/, '--setup put the VIP on lo');
  t.equal(sh('ip', ['netns', 'exec', SRV, 'sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim(), '1');
  t.equal(sh('ip', ['netns', 'exec', SRV, 'sysctl', '-n', 'net.ipv4.conf.all.arp_announce']).stdout.trim(), '2');
  t.match(sh('ip', ['netns', 'exec', SRV, 'nft', 'list', 'table', 'ip', 'tunvs_rs_eth0']).stdout, /iifname "eth0" ip protocol ipencap counter/);
  t.equal(sh('ip', ['netns', 'exec', SRV, 'sysctl', '-n', 'net.ipv4.conf.eth0.rp_filter']).stdout.trim(), '1', 'eth0 keeps strict rp_filter');

  await t.test('a UDP datagram to the VIP is answered from the VIP', async (t) => {
    const inner = udpPacket(client, vip, 40001, 7, new TextEncoder().encode('ping'), 63);
    const r = send('udp', [frame(ipipEncap(inner, client, rs))], 3);
    t.same(r.udp, [VIP, 7, 'rs1 ping']);
    t.same(r.icmp, [], 'no ICMP from the server');
  });

  await t.test('a TCP SYN to VIP:80 gets a SYN-ACK from the VIP, straight to the client', async (t) => {
    const syn = tcpSynPacket(client, vip, 41000, 80, 1000, 63);
    const r = send('syn', [frame(ipipEncap(syn, client, rs))], 3);
    t.ok(r.synack, 'SYN-ACK seen');
    t.equal(r.synack?.src, VIP);
    t.equal(r.synack?.sport, 80);
    t.equal(r.synack?.dport, 41000);
    t.equal((r.synack?.flags ?? 0) & 0x12, 0x12, 'SYN and ACK set');
    t.equal(r.synack?.ack, 1001);
  });

  await t.test('malformed outer headers are counted and dropped, the kernel stays silent', async (t) => {
    const before = await counters(pid);
    const good = () => ipipEncap(udpPacket(client, vip, 40001, 7, new Uint8Array(4)), client, rs);
    const badCk = good();
    badCk[10] ^= 0xff;
    const badVer = good();
    badVer[0] = 0x65;
    fixIpv4Checksum(badVer);
    const badLen = good();
    badLen[2] = 0x05;
    badLen[3] = 0xdc;
    fixIpv4Checksum(badLen);
    const badIhl = good();
    badIhl[0] = 0x44;
    const innerBad = good();
    innerBad[20] = 0x65;
    const otherDst = ipipEncap(udpPacket(client, vip, 40001, 7, new Uint8Array(4)), client, parseIpv4('10.20.0.99'));
    const r = send('watch', [badCk, badVer, badLen, badIhl, innerBad, otherDst].map(frame), 0.8);
    const after = await counters(pid);
    const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    t.equal(d('rxPackets'), 6, 'all six captured');
    t.equal(d('outer.ipv4-bad-checksum'), 1);
    t.equal(d('outer.ipv6-unsupported'), 1);
    t.equal(d('outer.ipv4-total-length-beyond-buffer'), 1);
    t.equal(d('outer.ipv4-bad-ihl'), 1);
    t.equal(d('outerMalformed'), 4);
    t.equal(d('inner.ipv6-unsupported'), 1);
    t.equal(d('innerMalformed'), 1);
    t.equal(d('notForUs'), 1);
    t.equal(d('decapsulated'), 0);
    t.same(r.icmp, [], 'no ICMP at all');
  });

  await t.test('on exit: counters printed, nft table and pidfile removed, TUN gone', async (t) => {
    await stop(pid);
    const log = readFileSync(join(RUN, 'realserver.log'), 'utf8').trim().split('\n');
    const last = JSON.parse(log[log.length - 1]!) as Record<string, number>;
    t.ok(last.decapsulated! >= 2, 'final counters printed');
    t.notOk(exists(join(RUN, 'realserver.pid')), 'pidfile removed');
    t.notMatch(sh('ip', ['netns', 'exec', SRV, 'nft', 'list', 'tables']).stdout, /tunvs_rs_eth0/, 'nft table removed');
    t.not(sh('ip', ['-n', SRV, 'link', 'show', 'tunvs-rs0']).code, 0, 'TUN device gone');
  });

  await t.test('without the nft rule the kernel answers IPIP with protocol-unreachable', async (t) => {
    pid = await startRealserver(['--no-nft']);
    const inner = udpPacket(client, vip, 40001, 7, new TextEncoder().encode('x'));
    const r = send('udp', [frame(ipipEncap(inner, client, rs))], 1.0);
    t.same(r.udp, [VIP, 7, 'rs1 x'], 'still decapsulated');
    t.ok(r.icmp.some(([src, type, code]) => src === RS && type === 3 && code === 2), 'ICMP type 3 code 2 from the server');
    await stop(pid);
  });

  t.same(namespaces(`${LAB_PREFIX}rs`).filter((n) => n === SND || n === SRV).length, 2);
});
