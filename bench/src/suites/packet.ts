/**
 * packet: the engine's per-batch NAT loop over 64-byte packets, on one core, with
 * benchmark.js. One operation = one batch of 256 packets in one slab (half TCP, half UDP,
 * raw IPv4 as on a TUN link): re-point a view, classify (lengths + IPv4 header checksum),
 * read the 5-tuple, rewrite destination address + port with incremental IP and L4
 * checksums (`natRewriteDst`). The destination alternates between two real servers per
 * batch, so every batch really rewrites and the next batch's checksum check proves the
 * previous rewrite was right (drops must stay 0).
 *
 * References measured in the same run, interleaved:
 * - the same loop written with Buffer.readUInt16BE/writeUInt16BE + DataView (what the
 *   design rules forbid on the data path);
 * - a plain copy loop moving every packet's 64 bytes to another slab (byte indexing),
 *   i.e. the cost of merely touching the bytes once.
 */
import Benchmark from 'benchmark';
import { CheckFlags, FrameInfo, Ipv4View, classifyFrame, flowPorts, natRewriteDst, packet, parseIpv4, reasonName } from '@tunvs/packet';
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
    const view = new Ipv4View();
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
        view.reset(slab, off, len);
        const r = classifyFrame(slab, off, len, 'tun', info, CheckFlags.IpChecksum);
        if (r !== 0) {
          drops[r]!++;
          continue;
        }
        sink ^= view.src ^ view.dst ^ flowPorts(slab, off) ^ view.protocol;
        natRewriteDst(slab, off, addr, port);
      }
      flip ^= 1;
      packets += BATCH;
    };

    // --- reference: Buffer.read*/write* and DataView --------------------------------
    const bsl = makeSlab();
    const buf = Buffer.from(bsl.slab.buffer, bsl.slab.byteOffset, bsl.slab.byteLength);
    const dv = new DataView(bsl.slab.buffer, bsl.slab.byteOffset, bsl.slab.byteLength);
    let rflip = 0;
    let rdrops = 0;
    const fold = (s: number): number => {
      s = (s & 0xffff) + (s >>> 16);
      return (s & 0xffff) + (s >>> 16);
    };
    const reference = (): void => {
      const { offsets, lengths } = bsl;
      const addr = rflip ? rip1 : rip2;
      const port = rflip ? 8080 : 8081;
      for (let i = 0; i < BATCH; i++) {
        const off = offsets[i]!;
        const len = lengths[i]!;
        if (len < 20) { rdrops++; continue; }
        const vi = buf.readUInt8(off);
        const hl = (vi & 0xf) << 2;
        if (vi >>> 4 !== 4 || hl < 20 || hl > len) { rdrops++; continue; }
        const total = buf.readUInt16BE(off + 2);
        if (total > len || total < hl) { rdrops++; continue; }
        let s = 0;
        for (let k = 0; k < hl; k += 2) s += buf.readUInt16BE(off + k);
        if (fold(s) !== 0xffff) { rdrops++; continue; }
        const proto = buf.readUInt8(off + 9);
        const l4 = off + hl;
        if (proto === 6 ? total - hl < 20 || (buf.readUInt8(l4 + 12) >>> 4) < 5 : proto === 17 ? total - hl < 8 : false) {
          rdrops++;
          continue;
        }
        sink ^= dv.getUint32(off + 12) ^ dv.getUint32(off + 16) ^ dv.getUint32(l4) ^ proto;
        const old = dv.getUint32(off + 16);
        const delta = (~old >>> 16 & 0xffff) + (~old & 0xffff) + (addr >>> 16) + (addr & 0xffff);
        buf.writeUInt16BE(~fold((~buf.readUInt16BE(off + 10) & 0xffff) + delta) & 0xffff, off + 10);
        dv.setUint32(off + 16, addr);
        if ((buf.readUInt16BE(off + 6) & 0x1fff) !== 0) continue;
        const lc = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
        if (lc < 0) continue;
        const oldPort = buf.readUInt16BE(l4 + 2);
        buf.writeUInt16BE(port, l4 + 2);
        const c = buf.readUInt16BE(lc);
        if (c === 0 && proto === 17) continue;
        let n = ~fold((~c & 0xffff) + delta + (~oldPort & 0xffff) + port) & 0xffff;
        if (n === 0 && proto === 17) n = 0xffff;
        buf.writeUInt16BE(n, lc);
      }
      rflip ^= 1;
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
    const results: Record<string, number[]> = { ours: [], reference: [], copy: [] };
    const fns: [string, () => void][] = [['ours', ours], ['reference', reference], ['copy', copy]];
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
    if (Object.keys(dropNames).length > 0 || rdrops > 0) {
      throw new Error(`packets were dropped: ours ${JSON.stringify(dropNames)}, reference ${rdrops}`);
    }

    const mpps = median(results.ours!);
    const refMpps = median(results.reference!);
    const copyMpps = median(results.copy!);
    log(table([
      ['loop (64-byte packets, batch 256)', 'Mpps (median)', 'runs', 'ns/packet'],
      ['ours: view + classify + natRewriteDst', mpps.toFixed(2), results.ours!.map((x) => x.toFixed(1)).join(' '), (1e3 / mpps).toFixed(1)],
      ['reference: Buffer.read*/DataView', refMpps.toFixed(2), results.reference!.map((x) => x.toFixed(1)).join(' '), (1e3 / refMpps).toFixed(1)],
      ['reference: copy 64 bytes/packet', copyMpps.toFixed(2), results.copy!.map((x) => x.toFixed(1)).join(' '), (1e3 / copyMpps).toFixed(1)],
    ]));
    log(`ours/Buffer-reference ${(mpps / refMpps).toFixed(2)}x, ours/copy ${(mpps / copyMpps).toFixed(2)}x; ${si(packets, 1)} packets rewritten, 0 drops (sink ${sink & 1})`);
    return {
      mpps: Number(mpps.toFixed(3)),
      nsPerPacket: Number((1e3 / mpps).toFixed(2)),
      referenceBufferMpps: Number(refMpps.toFixed(3)),
      referenceCopyMpps: Number(copyMpps.toFixed(3)),
      ratioVsBuffer: Number((mpps / refMpps).toFixed(3)),
      ratioVsCopy: Number((mpps / copyMpps).toFixed(3)),
      batch: BATCH,
      frameBytes: FRAME,
      rounds,
    };
  },
};
