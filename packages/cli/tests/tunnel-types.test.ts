/**
 * GUE and GRE real servers end to end in one process: tunvsadm adds them to the real
 * engine Director through the control socket (`--tun-type gue --tun-port 6080 --tun-csum`,
 * `--tun-type gre --tun-csum`), client SYNs go through the Director's link and come out
 * encapsulated as the kernel's ipvs_gue_encap / ipvs_gre_encap (parsed with
 * @tunvs/packet's GUE and GRE parsers), `-L --tun-info` and `-S` show them as ipvsadm does,
 * and an edit of the tunnel type applies to existing connections (the kernel reads the
 * destination's tunnel type for every packet).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { Proto } from '@tunvs/model';
import { CheckFlags, FrameInfo, classifyIpv4, formatIpv4, packet, parseGreHeader, parseGueHeader } from '@tunvs/packet';
import { runTunvsadm, serveControl } from '../src/index.js';

async function adm(sock: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => '',
    env: { TUNVS_SOCKET: sock },
  });
  return { code, out, err };
}

/** What came out: the real server, the tunnel, and the inner packet's client port. */
function decode(f: Uint8Array): { rs: string; tunnel: string; sport: number; innerTtl: number } {
  const o = new FrameInfo();
  if (classifyIpv4(f, 0, f.length, o, CheckFlags.All) !== 0) throw new Error('invalid outer packet');
  let at = o.l4Off;
  let tunnel = 'ipip';
  if (o.proto === Proto.UDP) {
    const hl = parseGueHeader(f, o.l4Off + 8, o.l4Len - 8);
    if (hl < 0) throw new Error(`bad GUE header ${hl}`);
    at = o.l4Off + 8 + hl;
    tunnel = `gue:${o.dstPort}`;
  } else if (o.proto === Proto.GRE) {
    const hl = parseGreHeader(f, o.l4Off, o.l4Len);
    if (hl < 0) throw new Error(`bad GRE header ${hl}`);
    at += hl;
    tunnel = hl === 8 ? 'gre+c' : 'gre';
  }
  const i = new FrameInfo();
  if (classifyIpv4(f, at, o.l3Off + o.ipTotalLen - at, i, CheckFlags.All) !== 0) throw new Error('invalid inner packet');
  return { rs: formatIpv4(o.dst), tunnel, sport: i.srcPort, innerTtl: i.ttl };
}

t.test('GUE and GRE real servers through tunvsadm and the Director', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunvs-tun-'));
  const sock = join(dir, 'ctl.sock');
  const link = new MemoryLink('tun');
  const director = new Director({ links: [link], timers: false, now: () => 10_000, sourceAddress: '10.10.1.1' });
  director.start();
  const server = serveControl(director, sock);
  await new Promise<void>((r) => server.once('listening', () => r()));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const S = ['-t', '10.10.0.100:80'];
  t.equal((await adm(sock, ['-A', ...S, '-s', 'rr'])).code, 0);
  t.equal((await adm(sock, ['-a', ...S, '-r', '10.10.1.11:80', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum'])).code, 0);
  t.equal((await adm(sock, ['-a', ...S, '-r', '10.10.1.12:80', '-i', '--tun-type', 'gre', '--tun-csum'])).code, 0);
  t.equal((await adm(sock, ['-a', ...S, '-r', '10.10.1.13:80', '-i'])).code, 0);
  const noPort = await adm(sock, ['-a', ...S, '-r', '10.10.1.14:80', '-i', '--tun-type', 'gue']);
  t.equal(noPort.code, 2);
  t.match(noPort.err, /You need to supply the 'tun-port' option for the 'gue' tunnel type/);

  const syn = (sport: number) => packet().ipv4({ src: '10.10.0.2', dst: '10.10.0.100', ttl: 64, df: true }).tcp({ sport, dport: 80, flags: 'S' }).build();
  for (let i = 0; i < 3; i++) link.receive(syn(5000 + i));
  const out = link.drain().map(decode);
  // rr gives each server one SYN (in the kernel's list order); each in its own tunnel
  t.same(out.map((o) => [o.rs, o.tunnel, o.innerTtl]).sort(), [
    ['10.10.1.11', 'gue:6080', 63],
    ['10.10.1.12', 'gre+c', 63],
    ['10.10.1.13', 'ipip', 63],
  ]);
  const greSport = out.find((o) => o.rs === '10.10.1.12')!.sport;

  const list = await adm(sock, ['-L', '-n', '--tun-info']);
  t.match(list.out, /  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn/);
  t.match(list.out, /  -> 10\.10\.1\.11:80\s+Tunnel  gue:6080:\+c\s+1/);
  t.match(list.out, /  -> 10\.10\.1\.12:80\s+Tunnel  gre:\+c\s+1/);
  t.match(list.out, /  -> 10\.10\.1\.13:80\s+Tunnel  ipip\s+1/);
  const saved = (await adm(sock, ['-S', '-n'])).out;
  t.match(saved, /-a -t 10\.10\.0\.100:80 -r 10\.10\.1\.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum/);
  t.match(saved, /-a -t 10\.10\.0\.100:80 -r 10\.10\.1\.12:80 -i -w 1 --tun-type gre --tun-csum/);

  // the GRE server becomes GUE without checksum: its existing connection follows
  t.equal((await adm(sock, ['-e', ...S, '-r', '10.10.1.12:80', '-i', '--tun-type', 'gue', '--tun-port', '7000'])).code, 0);
  link.receive(syn(greSport));
  t.same(link.drain().map(decode).map((o) => [o.rs, o.tunnel, o.sport]), [['10.10.1.12', 'gue:7000', greSport]]);
  t.match((await adm(sock, ['-L', '-n', '--tun-info'])).out, /  -> 10\.10\.1\.12:80\s+Tunnel  gue:7000:-c/);
});
