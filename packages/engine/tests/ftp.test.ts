// The FTP helper through the Director on an in-memory TUN link: a scripted control
// connection (PASV, EPSV, PORT) with its data connections, the 227 rewrite growing and
// shrinking the segment, sequence/ack shifts both ways, retransmission, checksums.
import t from 'tap';
import { packet, rd16, rd32, pseudoHeaderSum, csumPartial, Ipv4Field } from '@tunvs/packet';
import { tunDirector, ip, CLIENT, RS } from './helpers.js';

const text = (p: Uint8Array): string => {
  const hl = (p[0]! & 15) * 4;
  const doff = (p[hl + 12]! >>> 4) * 4;
  return new TextDecoder().decode(p.subarray(hl + doff, rd16(p, Ipv4Field.TOTAL_LEN)));
};
const seqOf = (p: Uint8Array): number => rd32(p, 20 + 4);
const ackOf = (p: Uint8Array): number => rd32(p, 20 + 8);
function l4Ok(p: Uint8Array): boolean {
  const hl = (p[0]! & 15) * 4;
  const total = rd16(p, Ipv4Field.TOTAL_LEN);
  const src = rd32(p, 12);
  const dst = rd32(p, 16);
  return total === p.length && csumPartial(p, hl, total - hl, pseudoHeaderSum(src, dst, p[9]!, total - hl)) === 0xffff;
}

function session(vip: string, ports?: number[]) {
  const { d, link } = tunDirector(ports ? { ftpPorts: ports } : {});
  d.addService({ protocol: 'tcp', addr: vip, port: 21, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: vip, port: 21 }, { addr: RS[0]!, port: 21, method: 'masq' });
  const fromClient = (sport: number, dport: number, flags: string, seq: number, ack: number, data = ''): Uint8Array => {
    link.receive(packet().ipv4({ src: CLIENT, dst: vip }).tcp({ sport, dport, flags, seq, ack }).payload(data).build());
    const out = link.drain();
    if (out.length !== 1) throw new Error(`client packet: ${out.length} sent`);
    return out[0]!;
  };
  const fromServer = (sport: number, dport: number, flags: string, seq: number, ack: number, data = ''): Uint8Array => {
    link.receive(packet().ipv4({ src: RS[0]!, dst: CLIENT }).tcp({ sport, dport, flags, seq, ack }).payload(data).build());
    const out = link.drain();
    if (out.length !== 1) throw new Error(`server packet: ${out.length} sent`);
    return out[0]!;
  };
  // handshake and greeting
  fromClient(40000, 21, 'S', 1000, 0);
  fromServer(21, 40000, 'SA', 5000, 1001);
  fromClient(40000, 21, 'A', 1001, 5001);
  fromServer(21, 40000, 'PA', 5001, 1001, '220 hi\r\n');
  return { d, link, fromClient, fromServer };
}

t.test('PASV: 227 rewritten to the VIP (segment grows), data connection to the same server, seq/ack shifted', (t) => {
  const { d, fromClient, fromServer } = session('10.10.0.100');
  const c1 = fromClient(40000, 21, 'PA', 1001, 5009, 'PASV\r\n');
  t.equal(text(c1), 'PASV\r\n', 'client text unchanged');
  const reply = '227 Entering Passive Mode (10,10,1,11,195,80).\r\n';
  const r = fromServer(21, 40000, 'PA', 5009, 1007, reply);
  t.equal(text(r), '227 Entering Passive Mode (10,10,0,100,195,80).\r\n', 'the VIP, the same port');
  t.equal(ip(r).src, '10.10.0.100');
  t.equal(ip(r).sport, 21);
  t.ok(ip(r).csumOk, 'IP checksum');
  t.ok(l4Ok(r), 'TCP checksum and length');
  t.equal(seqOf(r), 5009, 'the rewritten segment keeps its sequence number');
  // the passive data connection: client:any -> VIP:50000 goes to the same real server
  const syn = fromClient(41000, 50000, 'S', 9000, 0);
  t.equal(ip(syn).dst, RS[0]);
  t.equal(ip(syn).dport, 50000);
  const sa = fromServer(50000, 41000, 'SA', 7000, 9001);
  t.equal(ip(sa).src, '10.10.0.100');
  t.equal(ip(sa).sport, 50000);
  const data = d.listConnections().find((c) => c.virtualPort === 50000)!;
  t.equal(data.clientPort, 41000, 'client port filled in on the first packet');
  // the client acks the grown stream: the server sees its own numbering
  const end = 5009 + reply.length;
  const ack = fromClient(40000, 21, 'A', 1007, end + 1);
  t.equal(ackOf(ack), end, 'ack shifted back by the delta');
  t.ok(l4Ok(ack));
  // later server bytes shift forward
  const done = fromServer(21, 40000, 'PA', end, 1007, '226 done\r\n');
  t.equal(seqOf(done), end + 1, 'later server bytes shifted by +1');
  t.equal(text(done), '226 done\r\n');
  t.ok(l4Ok(done));
  // a retransmission of the 227 segment is rewritten again and keeps its number
  const again = fromServer(21, 40000, 'PA', 5009, 1007, reply);
  t.equal(text(again), '227 Entering Passive Mode (10,10,0,100,195,80).\r\n');
  t.equal(seqOf(again), 5009);
  t.equal(d.stats()['ftp.rewrites'], 2);
  t.equal(d.stats()['ftp.dataConns'], 2, 'as in the kernel, the filled-in data connection no longer matches client port 0: a new one waits');
  t.end();
});

t.test('a shorter VIP shrinks the segment; EPSV 229 and PORT active data connections', (t) => {
  const { d, fromClient, fromServer } = session('1.2.3.4');
  fromClient(40000, 21, 'PA', 1001, 5009, 'PASV\r\n');
  const reply = '227 Entering Passive Mode (10,10,1,11,195,80).\r\n';
  const r = fromServer(21, 40000, 'PA', 5009, 1007, reply);
  t.equal(text(r), '227 Entering Passive Mode (1,2,3,4,195,80).\r\n');
  t.ok(l4Ok(r));
  let sseq = 5009 + reply.length; // server numbering
  let cack = sseq - 3; // client numbering
  // EPSV: 229 keeps only the port
  fromClient(40000, 21, 'PA', 1007, cack, 'EPSV\r\n');
  const r2 = fromServer(21, 40000, 'PA', sseq, 1013, '229 Entering Extended Passive Mode (|1|10.10.1.11|50002|)\r\n');
  t.equal(text(r2), '229 Entering Extended Passive Mode (|||50002|)\r\n');
  t.equal(seqOf(r2), sseq - 3, 'shifted by the first delta');
  t.ok(l4Ok(r2));
  const shrink = '|1|10.10.1.11|50002|'.length - '|||50002|'.length;
  sseq += '229 Entering Extended Passive Mode (|1|10.10.1.11|50002|)\r\n'.length;
  cack = sseq - 3 - shrink;
  const a = fromClient(40000, 21, 'A', 1013, cack);
  t.equal(ackOf(a), sseq, 'ack back in the server numbering after two resizes');
  t.equal(fromClient(41001, 50002, 'S', 1, 0).length > 0 && ip(fromClient(41001, 50002, 'A', 2, 1)).dst, RS[0], 'EPSV data connection to the same server');
  // PORT: the server connects from port 20, leaves as VIP:20
  fromClient(40000, 21, 'PA', 1013, cack, 'PORT 10,10,0,2,195,81\r\n');
  const act = d.listConnections().find((c) => c.clientPort === 50001)!;
  t.equal(act.virtualPort, 20);
  t.equal(act.destPort, 20);
  t.equal(act.state, 'LISTEN');
  const syn = fromServer(20, 50001, 'S', 3000, 0);
  t.equal(ip(syn).src, '1.2.3.4');
  t.equal(ip(syn).sport, 20);
  t.equal(ip(syn).dst, CLIENT);
  t.equal(ip(syn).dport, 50001);
  t.ok(l4Ok(syn));
  t.end();
});

t.test('the helper only where it is bound: other ports, and ftpPorts [] turns it off', (t) => {
  const off = session('10.10.0.100', []);
  off.fromClient(40000, 21, 'PA', 1001, 5009, 'PASV\r\n');
  const r = off.fromServer(21, 40000, 'PA', 5009, 1007, '227 Entering Passive Mode (10,10,1,11,195,80).\r\n');
  t.equal(text(r), '227 Entering Passive Mode (10,10,1,11,195,80).\r\n', 'helper off: unchanged');
  const on = session('10.10.0.100', [2121]);
  t.same(on.d.ftpPorts, [2121]);
  on.fromClient(40000, 21, 'PA', 1001, 5009, 'PASV\r\n');
  const r2 = on.fromServer(21, 40000, 'PA', 5009, 1007, '227 Entering Passive Mode (10,10,1,11,195,80).\r\n');
  t.match(text(r2), /10,10,1,11/, 'port 21 is not among the ports');
  on.d.setFtpPorts([21]);
  t.throws(() => on.d.setFtpPorts([1, 2, 3, 4, 5, 6, 7, 8, 9]), /at most 8/);
  t.throws(() => on.d.setFtpPorts([0]), /not a port/);
  t.end();
});
