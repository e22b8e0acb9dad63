/**
 * packet: the parse and rewrite the Director runs on every packet, over 64-byte packets,
 * on one core, with benchmark.js. One operation = one batch of 256 packets in one slab
 * (half TCP, half UDP, raw IPv4 as on a TUN link): `classifyFrame` into a FrameInfo
 * (lengths, IPv4 header checksum, the 5-tuple and TCP flags, exactly the Director's
 * parse), then `natRewriteDst` (destination address + port with incremental IP and L4
 * checksums). The destination alternates between two real servers per batch, so every
 * batch really rewrites and the next batch's checksum check proves the previous rewrite
 * was right (drops must stay 0).
 *
 * Reference measured in the same run, interleaved: a plain copy loop moving every
 * packet's 64 bytes to another slab (byte indexing), i.e. the cost of merely touching
 * the bytes once.
 */
import Benchmark from 'benchmark';
import { CheckFlags, FrameInfo, classifyFrame, natRewriteDst, packet, parseIpv4, reasonName } from '@tunvs/packet';
import type { Suite } from '../suite.js';
import { log, si, table } from '../suite.js';

const BATCH = 256;
const FRAME = 64;

function makeSlab(): { slab: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const slab = new Uint8Array(BATCH * FRAME);
  const offsets = new Uint32Array(BATCH);
  const lengths = new Uint32Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const src = 0xc0000200 + (i & 0xff);
    const b = packet().ipv4({ src, dst: '198.51.100.1', id: i, df: true });
    const p = i & 1
      ? b.udp({ sport: 1024 + i, dport: 53 }).payload(FRAME - 28).build()
      : b.tcp({ sport: 1024 + i, dport: 80, flags: 'A', seq: i * 1000 }).payload(FRAME - 40).build();
    slab.set(p, i * FRAME);
    offsets[i] = i * FRAME;
    lengths[i] = p.length;
  }
  return { slab, offsets, lengths };
}

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export const suite: Suite = {
  name: 'packet',
  description: 'parse + NAT rewrite with incremental checksums, 64-byte packets in batches of 256 (Mpps, one core)',
  async run(opts) {
    const rip1 = parseIpv4('10.0.0.11');
    const rip2 = parseIpv4('10.0.0.12');

    // --- ours -------------------------------------------------------------------------
    const a = makeSlab();
    const info = new FrameInfo();
    const drops = new Float64Array(64);
    let flip = 0;
    let packets = 0;
    const ours = (): void => {
      const { slab, offsets, lengths } = a;
      const addr = flip ? rip1 : rip2;
      const port = flip ? 8080 : 8081;
      for (let i = 0; i < BATCH; i++) {
        const off = offsets[i]!;
        const len = lengths[i]!;
        const r = classifyFrame(slab, off, len, 'tun', info, CheckFlags.IpChecksum);
        if (r !== 0) {
          drops[r]!++;
          continue;
        }
        sink ^= info.src ^ info.dst ^ info.srcPort ^ info.dstPort ^ info.proto;
        natRewriteDst(slab, off, addr, port);
      }
      flip ^= 1;
      packets += BATCH;
    };

    // --- reference: copy every packet's bytes once -------------------------------------
    const c = makeSlab();
    const out = new Uint8Array(c.slab.length);
    const copy = (): void => {
      const { slab, offsets, lengths } = c;
      for (let i = 0; i < BATCH; i++) {
        const off = offsets[i]!;
        const end = off + lengths[i]!;
        for (let k = off; k < end; k++) out[k] = slab[k]!;
      }
      sink ^= out[7]!;
    };

    const rounds = opts.quick ? 1 : 3;
    const maxTime = opts.quick ? 0.3 : 1;
    const results: Record<string, number[]> = { ours: [], copy: [] };
    const fns: [string, () => void][] = [['ours', ours], ['copy', copy]];
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of fns) {
        const b = new Benchmark(name, fn, { maxTime, minSamples: 5 });
        b.run({ async: false });
        if (b.error) throw b.error;
        results[name]!.push((b.hz * BATCH) / 1e6);
      }
    }
    const dropNames: Record<string, number> = {};
    drops.forEach((n, i) => { if (n) dropNames[reasonName(i)] = n; });
    if (Object.keys(dropNames).length > 0) throw new Error(`packets were dropped: ${JSON.stringify(dropNames)}`);

    const mpps = median(results.ours!);
    const copyMpps = median(results.copy!);
    log(table([
      ['loop (64-byte packets, batch 256)', 'Mpps (median)', 'runs', 'ns/packet'],
      ['the Director\'s parse (classifyFrame) + natRewriteDst', mpps.toFixed(2), results.ours!.map((x) => x.toFixed(1)).join(' '), (1e3 / mpps).toFixed(1)],
      ['reference: copy 64 bytes/packet', copyMpps.toFixed(2), results.copy!.map((x) => x.toFixed(1)).join(' '), (1e3 / copyMpps).toFixed(1)],
    ]));
    log(`ours/copy ${(mpps / copyMpps).toFixed(2)}x; ${si(packets, 1)} packets rewritten, 0 drops (sink ${sink & 1})`);
    return {
      mpps: Number(mpps.toFixed(3)),
      nsPerPacket: Number((1e3 / mpps).toFixed(2)),
      referenceCopyMpps: Number(copyMpps.toFixed(3)),
      ratioVsCopy: Number((mpps / copyMpps).toFixed(3)),
      batch: BATCH,
      frameBytes: FRAME,
      rounds,
    };
  },
};
