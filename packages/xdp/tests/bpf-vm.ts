/**
 * A small eBPF interpreter for the unit tests: runs the steering program on a frame with
 * in-memory maps, without root or a kernel. It implements what the program uses (ALU32/64,
 * byte swaps, loads and stores of 1-8 bytes, conditional jumps, 64-bit immediate map loads,
 * bpf_map_lookup_elem, bpf_map_update_elem and bpf_redirect_map) and throws on anything else, and on any memory
 * access outside the frame, the stack, the context or a map value: a read past the end of
 * the frame here is a bounds check the program forgot (the kernel's verifier would refuse
 * such a program; this catches it in the logic tests first).
 */
import { BPF_PSEUDO_MAP_FD, decode, Op } from '../src/bpf/asm.js';
import type { Insn } from '../src/bpf/asm.js';

const M64 = (1n << 64n) - 1n;
const M32 = (1n << 32n) - 1n;

export interface VmMap {
  kind: 'hash' | 'lru' | 'array' | 'xsk';
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** hex(key) -> value */
  entries: Map<string, Uint8Array>;
}

export function vmMap(kind: VmMap['kind'], keySize: number, valueSize: number, maxEntries: number): VmMap {
  const m: VmMap = { kind, keySize, valueSize, maxEntries, entries: new Map() };
  if (kind === 'array') for (let i = 0; i < maxEntries; i++) m.entries.set(hex(u32le(i)), new Uint8Array(valueSize));
  return m;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

export interface VmResult {
  /** XDP action returned */
  action: number;
  /** the XSKMAP key a redirect chose (also set when it fell back because the key is absent) */
  redirectKey: number | null;
  /** instructions executed */
  steps: number;
}

interface Region {
  base: bigint;
  bytes: Uint8Array;
  writable: boolean;
}

const CTX_BASE = 0x1000_0000n;
const PKT_BASE = 0x2000_0000n;
const STACK_BASE = 0x3000_0000n;
const VALUE_BASE = 0x4000_0000n;
const MAP_TOKEN = 0x7000_0000n;

/** Run an XDP `program` (kernel encoding) on `frame` arriving on `rxQueue`. */
export function runXdp(program: Uint8Array, maps: Map<number, VmMap>, frame: Uint8Array, rxQueue = 0): VmResult {
  const ctx = new Uint8Array(24);
  const cdv = new DataView(ctx.buffer);
  cdv.setUint32(0, Number(PKT_BASE), true);
  cdv.setUint32(4, Number(PKT_BASE) + frame.length, true);
  cdv.setUint32(16, rxQueue, true);
  return run(program, maps, frame, ctx, 0);
}

/**
 * Run a socket-filter-type `program` (AF_PACKET filter or fanout) on `frame`, with
 * skb->data `macOffset` bytes past the MAC header (what the kernel shows each of them).
 * The action is the program's return value.
 */
export function runSkb(program: Uint8Array, maps: Map<number, VmMap>, frame: Uint8Array, macOffset: number): VmResult {
  const ctx = new Uint8Array(192); // struct __sk_buff: len at offset 0
  new DataView(ctx.buffer).setUint32(0, Math.max(0, frame.length - macOffset), true);
  return run(program, maps, frame, ctx, macOffset);
}

function run(program: Uint8Array, maps: Map<number, VmMap>, frame: Uint8Array, ctx: Uint8Array, macOffset: number): VmResult {
  const insns: Insn[] = decode(program);
  const stack = new Uint8Array(512);
  const regions: Region[] = [
    { base: CTX_BASE, bytes: ctx, writable: false },
    { base: PKT_BASE, bytes: frame, writable: true },
    { base: STACK_BASE, bytes: stack, writable: true },
  ];
  const valueRegions = new Map<Uint8Array, bigint>();
  const byToken = new Map<bigint, VmMap>();
  const r: bigint[] = new Array<bigint>(11).fill(0n);
  r[1] = CTX_BASE;
  r[10] = STACK_BASE + 512n;
  let redirectKey: number | null = null;

  const find = (addr: bigint, size: number, write: boolean): { reg: Region; off: number } => {
    for (const reg of regions) {
      if (addr >= reg.base && addr + BigInt(size) <= reg.base + BigInt(reg.bytes.length)) {
        if (write && !reg.writable) throw new Error(`write to read-only memory at 0x${addr.toString(16)}`);
        return { reg, off: Number(addr - reg.base) };
      }
    }
    throw new Error(`out-of-bounds ${write ? 'write' : 'read'} of ${size} bytes at 0x${addr.toString(16)}`);
  };
  const load = (addr: bigint, size: number): bigint => {
    const { reg, off } = find(addr, size, false);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(reg.bytes[off + i]!);
    return v;
  };
  const store = (addr: bigint, size: number, v: bigint): void => {
    const { reg, off } = find(addr, size, true);
    for (let i = 0; i < size; i++) reg.bytes[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  };
  const valuePtr = (value: Uint8Array): bigint => {
    let base = valueRegions.get(value);
    if (base === undefined) {
      base = VALUE_BASE + BigInt(valueRegions.size) * 0x1000n;
      valueRegions.set(value, base);
      regions.push({ base, bytes: value, writable: true });
    }
    return base;
  };
  const sizeOf = (code: number): number => {
    const s = code & 0x18;
    return s === Op.B ? 1 : s === Op.H ? 2 : s === Op.W ? 4 : 8;
  };
  const sx32 = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm));

  let pc = 0;
  let steps = 0;
  for (;;) {
    if (++steps > 100_000) throw new Error('too many steps');
    const i = insns[pc];
    if (!i) throw new Error(`fell off the end at ${pc}`);
    const cls = i.code & 0x07;
    if (cls === Op.ALU || cls === Op.ALU64) {
      const op = i.code & 0xf0;
      const is64 = cls === Op.ALU64;
      if (op === Op.END) {
        const bits = i.imm;
        const v = r[i.dst]!;
        if ((i.code & Op.X) === 0) {
          r[i.dst] = v & ((1n << BigInt(bits)) - 1n); // to little-endian: a truncation here
        } else {
          let out = 0n;
          for (let b = 0; b < bits / 8; b++) out = (out << 8n) | ((v >> BigInt(8 * b)) & 0xffn);
          r[i.dst] = out;
        }
        pc++;
        continue;
      }
      const src = (i.code & Op.X) !== 0 ? r[i.src]! : is64 ? sx32(i.imm) : BigInt(i.imm >>> 0);
      const mask = is64 ? M64 : M32;
      const d = r[i.dst]! & mask;
      const s = src & mask;
      const bitsN = is64 ? 64n : 32n;
      let v: bigint;
      switch (op) {
        case Op.ADD: v = d + s; break;
        case Op.SUB: v = d - s; break;
        case Op.MUL: v = d * s; break;
        case Op.DIV: v = s === 0n ? 0n : d / s; break;
        case Op.MOD: v = s === 0n ? d : d % s; break;
        case Op.OR: v = d | s; break;
        case Op.AND: v = d & s; break;
        case Op.XOR: v = d ^ s; break;
        case Op.LSH: v = d << (s & (bitsN - 1n)); break;
        case Op.RSH: v = d >> (s & (bitsN - 1n)); break;
        case Op.MOV: v = s; break;
        case Op.NEG: v = -d; break;
        case Op.ARSH: v = BigInt.asIntN(Number(bitsN), d) >> (s & (bitsN - 1n)); break;
        default: throw new Error(`unsupported ALU op 0x${i.code.toString(16)} at ${pc}`);
      }
      r[i.dst] = BigInt.asUintN(64, v) & mask;
      pc++;
      continue;
    }
    if (cls === Op.LDX) {
      r[i.dst] = load(r[i.src]! + BigInt(i.off), sizeOf(i.code));
      pc++;
      continue;
    }
    if (cls === Op.STX) {
      store(r[i.dst]! + BigInt(i.off), sizeOf(i.code), r[i.src]!);
      pc++;
      continue;
    }
    if (cls === Op.ST) {
      store(r[i.dst]! + BigInt(i.off), sizeOf(i.code), sx32(i.imm));
      pc++;
      continue;
    }
    if (cls === Op.LD) {
      if (i.code !== (Op.LD | Op.DW | Op.IMM)) throw new Error(`unsupported LD at ${pc}`);
      if (i.src === BPF_PSEUDO_MAP_FD) {
        const map = maps.get(i.imm);
        if (!map) throw new Error(`no map with fd ${i.imm}`);
        const token = MAP_TOKEN + BigInt(i.imm);
        byToken.set(token, map);
        r[i.dst] = token;
      } else {
        r[i.dst] = (BigInt(insns[pc + 1]!.imm >>> 0) << 32n) | BigInt(i.imm >>> 0);
      }
      pc += 2;
      continue;
    }
    if (cls === Op.JMP) {
      const op = i.code & 0xf0;
      if (op === Op.EXIT) return { action: Number(r[0]! & M32), redirectKey, steps };
      if (op === Op.CALL) {
        if (i.imm === 26) {
          // bpf_skb_load_bytes(skb, offset, to, len): from skb->data (macOffset into the frame)
          if (r[1] !== CTX_BASE) throw new Error(`skb_load_bytes at ${pc}: r1 is not the context`);
          const off = macOffset + Number(r[2]!);
          const len = Number(r[4]!);
          if (len < 1 || len > 512) throw new Error(`skb_load_bytes at ${pc}: length ${len}`);
          const ok = off + len <= frame.length;
          for (let k = 0; k < len; k++) store(r[3]! + BigInt(k), 1, ok ? BigInt(frame[off + k]!) : 0n);
          r[0] = ok ? 0n : BigInt.asUintN(64, -14n);
          for (let k = 1; k <= 5; k++) r[k] = 0xdeadn;
          pc++;
          continue;
        }
        if (i.imm === 68) {
          // bpf_skb_load_bytes_relative(skb, offset, to, len, BPF_HDR_START_MAC): the linear
          // frame from the MAC header; out of range clears `to` and fails
          if (r[1] !== CTX_BASE || r[5] !== 0n) throw new Error(`skb_load_bytes_relative at ${pc}: bad arguments`);
          const off = Number(r[2]!);
          const len = Number(r[4]!);
          if (len < 1 || len > 512) throw new Error(`skb_load_bytes_relative at ${pc}: length ${len}`);
          const ok = off + len <= frame.length;
          for (let k = 0; k < len; k++) store(r[3]! + BigInt(k), 1, ok ? BigInt(frame[off + k]!) : 0n);
          r[0] = ok ? 0n : BigInt.asUintN(64, -14n);
          for (let k = 1; k <= 5; k++) r[k] = 0xdeadn;
          pc++;
          continue;
        }
        const map = byToken.get(r[1]!);
        if (!map) throw new Error(`call ${i.imm} at ${pc}: r1 is not a map`);
        if (i.imm === 1) {
          const key = new Uint8Array(map.keySize);
          for (let k = 0; k < map.keySize; k++) key[k] = Number(load(r[2]! + BigInt(k), 1));
          const v = map.entries.get(hex(key));
          r[0] = v ? valuePtr(v) : 0n;
        } else if (i.imm === 2) {
          // bpf_map_update_elem(map, key, value, flags): BPF_ANY only; an LRU map drops its
          // least recently updated entry when full (lookups do not refresh it here)
          if (r[4] !== 0n || (map.kind !== 'hash' && map.kind !== 'lru')) throw new Error(`map_update_elem at ${pc}: only BPF_ANY on a hash map`);
          const key = new Uint8Array(map.keySize);
          for (let k = 0; k < map.keySize; k++) key[k] = Number(load(r[2]! + BigInt(k), 1));
          const value = new Uint8Array(map.valueSize);
          for (let k = 0; k < map.valueSize; k++) value[k] = Number(load(r[3]! + BigInt(k), 1));
          const h = hex(key);
          map.entries.delete(h);
          if (map.entries.size >= map.maxEntries) {
            if (map.kind !== 'lru') {
              r[0] = BigInt.asUintN(64, -7n); // E2BIG
              for (let k = 1; k <= 5; k++) r[k] = 0xdeadn;
              pc++;
              continue;
            }
            map.entries.delete(map.entries.keys().next().value!);
          }
          map.entries.set(h, value);
          r[0] = 0n;
        } else if (i.imm === 51) {
          const key = Number(r[2]! & M32);
          redirectKey = key;
          r[0] = map.entries.has(hex(u32le(key))) ? 4n : r[3]! & 3n;
        } else {
          throw new Error(`unsupported helper ${i.imm} at ${pc}`);
        }
        for (let k = 1; k <= 5; k++) r[k] = 0xdeadn; // clobbered
        pc++;
        continue;
      }
      if (op === Op.JA) {
        pc += 1 + i.off;
        continue;
      }
      const a = r[i.dst]!;
      const b = (i.code & Op.X) !== 0 ? r[i.src]! : sx32(i.imm);
      const sa = BigInt.asIntN(64, a);
      const sb = BigInt.asIntN(64, b);
      let taken: boolean;
      switch (op) {
        case Op.JEQ: taken = a === b; break;
        case Op.JNE: taken = a !== b; break;
        case Op.JGT: taken = a > b; break;
        case Op.JGE: taken = a >= b; break;
        case Op.JLT: taken = a < b; break;
        case Op.JLE: taken = a <= b; break;
        case Op.JSET: taken = (a & b) !== 0n; break;
        case Op.JSGT: taken = sa > sb; break;
        case Op.JSGE: taken = sa >= sb; break;
        case Op.JSLT: taken = sa < sb; break;
        case Op.JSLE: taken = sa <= sb; break;
        default: throw new Error(`unsupported jump 0x${i.code.toString(16)} at ${pc}`);
      }
      pc += taken ? 1 + i.off : 1;
      continue;
    }
    throw new Error(`unsupported instruction class ${cls} at ${pc}`);
  }
}
