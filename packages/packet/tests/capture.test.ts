// Capture files of both formats: pcapng blocks by hand (both byte orders, timestamp
// resolution, several interfaces, simple packets, skipped blocks), editcap's pcapng of our
// pcap, cut files, and the IPv4 offset per link type.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureLinkType, LinkType, PcapError, ipv4Offset, packet, parseCapture, parsePcapng, readCapture, writePcap } from '../src/index.js';

/** Little/big-endian block writer for hand-made pcapng files. */
function blocks(le: boolean) {
  const parts: number[] = [];
  const u16 = (v: number): number[] => (le ? [v & 255, v >> 8] : [v >> 8, v & 255]);
  const u32 = (v: number): number[] => (le ? [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24] : [v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]);
  const pad = (b: number[]): number[] => [...b, ...new Array((4 - (b.length % 4)) % 4).fill(0)];
  const block = (type: number, body: number[]): void => {
    const len = 12 + body.length;
    parts.push(...u32(type), ...u32(len), ...body, ...u32(len));
  };
  return {
    shb: () => block(0x0a0d0d0a, [...u32(0x1a2b3c4d), ...u16(1), ...u16(0), ...u32(0xffffffff), ...u32(0xffffffff)]),
    idb: (linktype: number, tsresol?: number) =>
      block(1, [...u16(linktype), 0, 0, ...u32(65535), ...(tsresol !== undefined ? [...u16(9), ...u16(1), tsresol, 0, 0, 0, ...u16(0), ...u16(0)] : [])]),
    epb: (iface: number, ts: number, data: Uint8Array) =>
      block(6, [...u32(iface), ...u32(Math.floor(ts / 4294967296)), ...u32(ts % 4294967296), ...u32(data.length), ...u32(data.length), ...pad([...data])]),
    spb: (data: Uint8Array) => block(3, [...u32(data.length), ...pad([...data])]),
    nrb: () => block(4, [...u16(0), ...u16(0)]),
    bytes: () => new Uint8Array(parts),
  };
}

const syn = packet().ipv4({ src: '192.0.2.10', dst: '198.51.100.1' }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
const eth = packet().eth({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }).ipv4({ src: '192.0.2.10', dst: '198.51.100.1' }).udp({ sport: 5, dport: 7 }).build();

t.test('pcapng by hand: both byte orders, tsresol, two interfaces, simple packets, other blocks skipped', async (t) => {
  for (const le of [true, false]) {
    const b = blocks(le);
    b.shb();
    b.idb(LinkType.Raw); // default resolution: microseconds
    b.idb(LinkType.Ethernet, 9); // nanoseconds
    b.nrb();
    b.epb(0, 1_700_000_000_500_000, syn);
    b.epb(1, 6_250_000_000, eth); // 6.25 s in ns: the high word is used
    b.spb(syn);
    const f = parsePcapng(b.bytes());
    t.equal(f.format, 'pcapng');
    t.equal(f.records.length, 3, le ? 'little-endian' : 'big-endian');
    t.same([...f.records[0]!.data], [...syn]);
    t.equal(f.records[0]!.linktype, LinkType.Raw);
    t.equal(f.records[0]!.time, 1_700_000_000.5);
    t.equal(f.records[1]!.linktype, LinkType.Ethernet);
    t.equal(f.records[1]!.time, 6.25, "nanosecond timestamps");
    t.equal(f.records[2]!.time, f.records[1]!.time, 'a simple packet takes the previous time');
    t.same(parseCapture(b.bytes()).records.length, 3, 'parseCapture tells pcapng by its first block');
  }
});

t.test('bad and cut pcapng files throw PcapError', async (t) => {
  const b = blocks(true);
  b.shb();
  b.idb(LinkType.Raw);
  b.epb(0, 1, syn);
  const whole = b.bytes();
  t.throws(() => parsePcapng(whole.subarray(0, whole.length - 3)), PcapError);
  const noIface = blocks(true);
  noIface.shb();
  noIface.epb(3, 1, syn);
  t.throws(() => parsePcapng(noIface.bytes()), /interface 3/);
  t.throws(() => parsePcapng(new Uint8Array(16)), { code: 'EBADMAGIC' });
});

t.test("editcap's pcapng of our pcap reads back the same frames and times", { skip: spawnSync('editcap', ['-h']).error ? 'editcap not installed' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunvs-capture-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'a.pcap');
  const ng = join(dir, 'a.pcapng');
  writePcap(pcap, [{ data: syn, time: 1000.25 }, { data: syn, time: 1001.5 }], LinkType.Raw);
  const r = spawnSync('editcap', ['-F', 'pcapng', pcap, ng]);
  t.equal(r.status, 0, String(r.stderr));
  const a = readCapture(pcap);
  const g = readCapture(ng);
  t.equal(a.format, 'pcap');
  t.equal(g.format, 'pcapng');
  t.same(g.records.map((x) => [x.time, x.linktype, [...x.data]]), a.records.map((x) => [x.time, x.linktype, [...x.data]]));
  t.ok(readFileSync(ng).length > 0);
});

t.test('readCapture names the file in its errors; a file of neither format says both were tried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunvs-capture-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const text = join(dir, 'trace.jsonl');
  writeFileSync(text, '{"t":0}\n'.repeat(8));
  t.throws(() => readCapture(text), { code: 'EBADMAGIC', message: `${text}: not a pcap or pcapng file (its first word is 0x2274227b)` });
  const cut = join(dir, 'cut.pcap');
  writePcap(cut, [{ data: syn, time: 1 }], LinkType.Raw);
  writeFileSync(cut, readFileSync(cut).subarray(0, 24 + 16 + 4));
  t.throws(() => readCapture(cut), { code: 'ETRUNCATED', message: `${cut}: record data cut at byte 40` });
});

t.test('ipv4Offset per link type', async (t) => {
  t.equal(ipv4Offset(CaptureLinkType.Raw, syn), 0);
  t.equal(ipv4Offset(CaptureLinkType.RawDlt12, syn), 0);
  t.equal(ipv4Offset(CaptureLinkType.Ethernet, eth), 14);
  const vlan = new Uint8Array(eth.length + 4);
  vlan.set(eth.subarray(0, 12));
  vlan.set([0x81, 0x00, 0x00, 0x05], 12);
  vlan.set(eth.subarray(12), 16);
  t.equal(ipv4Offset(CaptureLinkType.Ethernet, vlan), 18);
  const sll = new Uint8Array(16 + syn.length);
  sll.set([0x08, 0x00], 14);
  sll.set(syn, 16);
  t.equal(ipv4Offset(CaptureLinkType.LinuxSll, sll), 16);
  const sll2 = new Uint8Array(20 + syn.length);
  sll2.set([0x08, 0x00], 0);
  sll2.set(syn, 20);
  t.equal(ipv4Offset(CaptureLinkType.LinuxSll2, sll2), 20);
  t.equal(ipv4Offset(CaptureLinkType.Null, new Uint8Array([2, 0, 0, 0, ...syn])), 4);
  t.equal(ipv4Offset(CaptureLinkType.Ethernet, new Uint8Array(10)), -1, 'short');
  t.equal(ipv4Offset(CaptureLinkType.Raw, new Uint8Array([0x60, 0])), -1, 'IPv6');
  t.equal(ipv4Offset(999, syn), -1, 'unknown link type');
});
