/**
 * A small eBPF assembler: enough of the instruction set for the steering program, with
 * named labels for jumps, and the 8-byte little-endian encoding the kernel's
 * BPF_PROG_LOAD takes. See the kernel's Documentation/bpf/standardization/
 * instruction-set.rst for the encoding; nothing here depends on clang or libbpf.
 */

/** Registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 kept, r10 frame pointer. */
export const R0 = 0;
export const R1 = 1;
export const R2 = 2;
export const R3 = 3;
export const R4 = 4;
export const R5 = 5;
export const R6 = 6;
export const R7 = 7;
export const R8 = 8;
export const R9 = 9;
export const FP = 10;
export type Reg = number;

/** Instruction classes, sizes, modes, ALU and jump operations (the opcode byte's parts). */
export const Op = {
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
  // sizes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  DW: 0x18,
  // modes
  IMM: 0x00,
  MEM: 0x60,
  // source
  K: 0x00,
  X: 0x08,
  // ALU operations
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
  // jump operations
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/** src_reg of a 64-bit immediate load that names a map by its fd. */
export const BPF_PSEUDO_MAP_FD = 1;

/** One decoded instruction. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

type Size = 'b' | 'h' | 'w' | 'dw';
type AluName = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'xor' | 'mov' | 'arsh';
type JmpName = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'set' | 'sgt' | 'sge' | 'slt' | 'sle';

const SIZE: Record<Size, number> = { b: Op.B, h: Op.H, w: Op.W, dw: Op.DW };
const ALU: Record<AluName, number> = {
  add: Op.ADD,
  sub: Op.SUB,
  mul: Op.MUL,
  div: Op.DIV,
  or: Op.OR,
  and: Op.AND,
  lsh: Op.LSH,
  rsh: Op.RSH,
  mod: Op.MOD,
  xor: Op.XOR,
  mov: Op.MOV,
  arsh: Op.ARSH,
};
const JMP: Record<JmpName, number> = {
  eq: Op.JEQ,
  ne: Op.JNE,
  gt: Op.JGT,
  ge: Op.JGE,
  lt: Op.JLT,
  le: Op.JLE,
  set: Op.JSET,
  sgt: Op.JSGT,
  sge: Op.JSGE,
  slt: Op.JSLT,
  sle: Op.JSLE,
};

/** An immediate must fit a signed 32-bit field (unsigned 32-bit values are taken mod 2^32). */
function imm32(v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`immediate ${v} does not fit 32 bits`);
  return v | 0;
}

/** Builds a program instruction by instruction; `assemble()` resolves labels and encodes. */
export class Asm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string }[] = [];
  /** instruction index -> comment, for listings */
  private readonly notes = new Map<number, string>();

  /** Number of instructions so far (a 64-bit immediate load counts two). */
  get length(): number {
    return this.insns.length;
  }

  private push(i: Insn): this {
    this.insns.push(i);
    return this;
  }

  /** Attach a comment to the next instruction (shown by `listing`). */
  note(text: string): this {
    this.notes.set(this.insns.length, text);
    return this;
  }

  /** Define a label at the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label ${name} defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** dst = dst OP src (64-bit); src is a register or an immediate. */
  alu64(op: AluName, dst: Reg, src: Reg | { imm: number }): this {
    return this.alu(Op.ALU64, op, dst, src);
  }

  /** dst = dst OP src on the low 32 bits, zero-extended. */
  alu32(op: AluName, dst: Reg, src: Reg | { imm: number }): this {
    return this.alu(Op.ALU, op, dst, src);
  }

  private alu(cls: number, op: AluName, dst: Reg, src: Reg | { imm: number }): this {
    if (typeof src === 'number') return this.push({ code: cls | ALU[op] | Op.X, dst, src, off: 0, imm: 0 });
    return this.push({ code: cls | ALU[op] | Op.K, dst, src: 0, off: 0, imm: imm32(src.imm) });
  }

  /** dst = imm (64-bit, sign-extended 32-bit immediate). */
  movImm(dst: Reg, imm: number): this {
    return this.alu64('mov', dst, { imm });
  }

  /** dst = src (register). */
  movReg(dst: Reg, src: Reg): this {
    return this.alu64('mov', dst, src);
  }

  /** Convert the low 16/32 bits of dst from network (big-endian) order to host order. */
  be(dst: Reg, bits: 16 | 32 | 64): this {
    return this.push({ code: Op.ALU | Op.END | Op.X, dst, src: 0, off: 0, imm: bits });
  }

  /** dst = *(size *)(src + off) */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.push({ code: Op.LDX | Op.MEM | SIZE[size], dst, src, off, imm: 0 });
  }

  /** *(size *)(dst + off) = src */
  stx(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.push({ code: Op.STX | Op.MEM | SIZE[size], dst, src, off, imm: 0 });
  }

  /** *(size *)(dst + off) = imm */
  st(size: Size, dst: Reg, off: number, imm: number): this {
    return this.push({ code: Op.ST | Op.MEM | SIZE[size], dst, src: 0, off, imm: imm32(imm) });
  }

  /** if (dst OP src) goto label (64-bit compare; src a register or an immediate). */
  jmp(op: JmpName, dst: Reg, src: Reg | { imm: number }, label: string): this {
    this.fixups.push({ at: this.insns.length, label });
    if (typeof src === 'number') return this.push({ code: Op.JMP | JMP[op] | Op.X, dst, src, off: 0, imm: 0 });
    return this.push({ code: Op.JMP | JMP[op] | Op.K, dst, src: 0, off: 0, imm: imm32(src.imm) });
  }

  /** goto label */
  ja(label: string): this {
    this.fixups.push({ at: this.insns.length, label });
    return this.push({ code: Op.JMP | Op.JA, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** call a kernel helper by number (r1-r5 arguments, r0 result, r1-r5 clobbered). */
  call(helper: number): this {
    return this.push({ code: Op.JMP | Op.CALL, dst: 0, src: 0, off: 0, imm: helper });
  }

  exit(): this {
    return this.push({ code: Op.JMP | Op.EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** dst = the map with this fd (a 64-bit immediate load, two instruction slots). */
  ldMap(dst: Reg, fd: number): this {
    this.push({ code: Op.LD | Op.DW | Op.IMM, dst, src: BPF_PSEUDO_MAP_FD, off: 0, imm: imm32(fd) });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** Resolve labels and return the instructions. */
  finish(): Insn[] {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`undefined label ${f.label}`);
      const off = target - (f.at + 1);
      if (off < -0x8000 || off > 0x7fff) throw new RangeError(`jump to ${f.label} too far`);
      this.insns[f.at]!.off = off;
    }
    this.fixups.length = 0;
    return this.insns.map((i) => ({ ...i }));
  }

  /** Resolve labels and encode as the kernel wants it (8 bytes per instruction). */
  assemble(): Uint8Array {
    return encode(this.finish());
  }

  /** A human-readable listing (index, opcode, regs, offset, immediate, comment). */
  listing(): string {
    const insns = this.finish();
    const byIndex = new Map<number, string>();
    for (const [name, at] of this.labels) byIndex.set(at, `${byIndex.has(at) ? byIndex.get(at) + ', ' : ''}${name}`);
    return insns
      .map((i, n) => {
        const lab = byIndex.has(n) ? `${byIndex.get(n)}:\n` : '';
        const note = this.notes.has(n) ? `  ; ${this.notes.get(n)}` : '';
        const hex = `0x${i.code.toString(16).padStart(2, '0')}`;
        return `${lab}${String(n).padStart(4)}  ${hex} r${i.dst} r${i.src} off=${i.off} imm=${i.imm}${note}`;
      })
      .join('\n');
  }
}

/** Encode instructions (code, dst:4|src:4, off:16 LE, imm:32 LE). */
export function encode(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach((i, n) => {
    dv.setUint8(n * 8, i.code);
    dv.setUint8(n * 8 + 1, ((i.src & 0xf) << 4) | (i.dst & 0xf));
    dv.setInt16(n * 8 + 2, i.off, true);
    dv.setInt32(n * 8 + 4, i.imm, true);
  });
  return out;
}

/** Decode the kernel encoding back into instructions. */
export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % 8 !== 0) throw new Error('a program is a whole number of 8-byte instructions');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let n = 0; n < bytes.length; n += 8) {
    const regs = dv.getUint8(n + 1);
    out.push({ code: dv.getUint8(n), dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(n + 2, true), imm: dv.getInt32(n + 4, true) });
  }
  return out;
}
