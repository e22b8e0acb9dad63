/**
 * BFD, asynchronous mode (RFC 5880) over single-hop IPv4/IPv6 UDP (RFC 5881), as
 * keepalived's bfd_instance runs it: one session per neighbour, control packets to port
 * 3784 from a per-session source port in 49152..65535 with TTL 255, no authentication,
 * no demand mode, no echo function.
 *
 *   - states AdminDown/Down/Init/Up and the three-way handshake of RFC 5880 §6.2/§6.8.6;
 *   - discriminators chosen at random; a packet with Your Discriminator 0 is matched to its
 *     session by the source address;
 *   - transmit interval max(DesiredMinTx, remote RequiredMinRx) with 75-100 % jitter
 *     (75-90 % with a detect multiplier of 1); DesiredMinTx is `idle_tx` (at least 1 s) while
 *     the session is not Up, `min_tx` once it is; every change of a timing parameter runs a
 *     Poll Sequence (P bit until a packet with F arrives), and a P bit is answered with F at
 *     once; an increased interval is used only once the poll is over (§6.8.3);
 *   - detection time = remote DetectMult × max(our RequiredMinRx, remote DesiredMinTx);
 *     when it passes the session goes Down with diagnostic 1 (§6.8.4);
 *   - `passive`: nothing is sent until the peer has spoken (§6.8.7).
 *
 * Known gap: Node's dgram socket cannot read the received TTL, so the GTSM check of RFC
 * 5881 §5 (discard unless TTL 255) is not made; packets are still only accepted from the
 * configured neighbour address.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { BfdInstance } from '@tunvs/keepalived';
import type { BfdSessionLike } from './checker.js';

/** The control port of single-hop BFD (RFC 5881). */
export const BFD_CONTROL_PORT = 3784;

/** Session states (RFC 5880 §4.1). */
export const BFD_STATE = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BFD_STATE)[keyof typeof BFD_STATE];
const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;

/** Diagnostic codes used here (RFC 5880 §4.1). */
export const BFD_DIAG = { None: 0, ControlDetectionExpired: 1, NeighborDown: 3, AdminDown: 7 } as const;

/** A decoded BFD control packet (the mandatory section). */
export interface BfdPacket {
  version: number;
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  cpi: boolean;
  auth: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  length: number;
  myDiscr: number;
  yourDiscr: number;
  /** microseconds */
  desiredMinTx: number;
  requiredMinRx: number;
  requiredMinEchoRx: number;
}

/** Field offsets of the 24-byte mandatory section. */
const OFF = { vers: 0, flags: 1, mult: 2, len: 3, my: 4, your: 8, tx: 12, rx: 16, echo: 20 } as const;
export const BFD_PACKET_LEN = 24;

/** Builds a control packet. */
export function encodeBfd(p: Omit<BfdPacket, 'version' | 'length'> & { version?: number }): Buffer {
  const b = Buffer.alloc(BFD_PACKET_LEN);
  b[OFF.vers] = ((p.version ?? 1) << 5) | (p.diag & 0x1f);
  b[OFF.flags] =
    (p.state << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  b[OFF.mult] = p.detectMult;
  b[OFF.len] = BFD_PACKET_LEN;
  b.writeUInt32BE(p.myDiscr >>> 0, OFF.my);
  b.writeUInt32BE(p.yourDiscr >>> 0, OFF.your);
  b.writeUInt32BE(p.desiredMinTx >>> 0, OFF.tx);
  b.writeUInt32BE(p.requiredMinRx >>> 0, OFF.rx);
  b.writeUInt32BE(p.requiredMinEchoRx >>> 0, OFF.echo);
  return b;
}

/** Decodes a control packet; null when RFC 5880 §6.8.6 says to discard it outright. */
export function decodeBfd(b: Uint8Array): BfdPacket | null {
  if (b.length < BFD_PACKET_LEN) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = b[OFF.flags]!;
  const p: BfdPacket = {
    version: b[OFF.vers]! >> 5,
    diag: b[OFF.vers]! & 0x1f,
    state: (flags >> 6) as BfdState,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    cpi: (flags & 0x08) !== 0,
    auth: (flags & 0x04) !== 0,
    demand: (flags & 0x02) !== 0,
    multipoint: (flags & 0x01) !== 0,
    detectMult: b[OFF.mult]!,
    length: b[OFF.len]!,
    myDiscr: v.getUint32(OFF.my),
    yourDiscr: v.getUint32(OFF.your),
    desiredMinTx: v.getUint32(OFF.tx),
    requiredMinRx: v.getUint32(OFF.rx),
    requiredMinEchoRx: v.getUint32(OFF.echo),
  };
  if (p.version !== 1) return null;
  if (p.length < (p.auth ? 26 : 24) || p.length > b.length) return null;
  if (p.detectMult === 0 || p.multipoint || p.myDiscr === 0) return null;
  if (p.yourDiscr === 0 && p.state !== BFD_STATE.Down && p.state !== BFD_STATE.AdminDown) return null;
  return p;
}

type Listener = (up: boolean, detail: string) => void;

/** One BFD session (one bfd_instance). */
export class BfdSession implements BfdSessionLike {
  readonly name: string;
  state: BfdState = BFD_STATE.Down;
  readonly localDiscr: number;
  remoteDiscr = 0;
  remoteState: BfdState = BFD_STATE.Down;
  localDiag: number = BFD_DIAG.None;
  /** counters, for logs and tests */
  readonly stats = { sent: 0, received: 0, discarded: 0, upTransitions: 0, downTransitions: 0 };
  private remoteMinRx = 1; // µs; 1 until the peer has told us (send at our own pace)
  private remoteDesiredTx = 0;
  private remoteDetectMult = 0;
  /** the DesiredMinTx we advertise, and the one in effect for our own timer */
  private advertisedTx: number;
  private activeTx: number;
  private pollActive = false;
  private txTimer: NodeJS.Timeout | null = null;
  private timerBase = 0;
  private detectTimer: NodeJS.Timeout | null = null;
  private sock: Socket | null = null;
  private running = false;
  private readonly listeners = new Set<Listener>();
  private readonly family: 4 | 6;

  constructor(
    readonly spec: BfdInstance,
    private readonly log: (line: string) => void = () => undefined,
    /** where to send (tests); default the neighbour on port 3784 */
    private readonly peerPort = BFD_CONTROL_PORT,
  ) {
    this.name = spec.name;
    this.family = isIP(spec.neighbor) === 6 ? 6 : 4;
    this.localDiscr = randomInt(1, 0xffffffff);
    this.advertisedTx = this.desiredTxFor(BFD_STATE.Down);
    this.activeTx = this.advertisedTx;
  }

  get isUp(): boolean {
    return this.state === BFD_STATE.Up;
  }

  get stateName(): string {
    return STATE_NAMES[this.state];
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Opens the session's transmit socket (source port 49152..65535, TTL) and starts sending. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const s = createSocket({ type: this.family === 6 ? 'udp6' : 'udp4' });
    s.on('error', (e) => this.log(`BFD ${this.name}: socket error: ${e.message}`));
    s.on('message', () => undefined); // replies come to port 3784
    for (let tries = 0; ; tries++) {
      const port = randomInt(49152, 65536);
      try {
        await new Promise<void>((res, rej) => {
          s.once('error', rej);
          s.bind({ port, ...(this.spec.source !== undefined ? { address: this.spec.source } : {}), exclusive: true }, () => {
            s.off('error', rej);
            res();
          });
        });
        break;
      } catch (e) {
        if (tries >= 20) throw e;
      }
    }
    s.setTTL(this.spec.ttl);
    this.sock = s;
    this.scheduleTx();
  }

  /** Stops: one AdminDown packet (diagnostic 7) so the peer goes Down at once, then silence. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.clearTimers();
    const wasUp = this.isUp;
    this.state = BFD_STATE.AdminDown;
    this.localDiag = BFD_DIAG.AdminDown;
    if (this.sock) {
      const s = this.sock;
      this.sock = null;
      s.send(this.packet(false, false), this.peerPort, this.spec.neighbor, () => s.close());
    }
    if (wasUp) this.emit(false, 'administratively down');
  }

  /** Handles a received control packet (already decoded) from the neighbour. */
  receive(p: BfdPacket): void {
    if (!this.running) return;
    if (p.auth) {
      this.stats.discarded++;
      return;
    }
    if (p.yourDiscr !== 0 && p.yourDiscr !== this.localDiscr) {
      this.stats.discarded++;
      return;
    }
    this.stats.received++;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredTx = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.pollActive) {
      this.pollActive = false;
      this.activeTx = this.advertisedTx;
    }
    this.armDetect();
    if (this.state === BFD_STATE.AdminDown) return;
    if (p.state === BFD_STATE.AdminDown) {
      if (this.state !== BFD_STATE.Down) this.setState(BFD_STATE.Down, BFD_DIAG.NeighborDown, 'neighbour is administratively down');
    } else if (this.state === BFD_STATE.Down) {
      if (p.state === BFD_STATE.Down) this.setState(BFD_STATE.Init, BFD_DIAG.None, 'neighbour is Down');
      else if (p.state === BFD_STATE.Init) this.setState(BFD_STATE.Up, BFD_DIAG.None, 'neighbour is Init');
    } else if (this.state === BFD_STATE.Init) {
      if (p.state === BFD_STATE.Init || p.state === BFD_STATE.Up) this.setState(BFD_STATE.Up, BFD_DIAG.None, `neighbour is ${STATE_NAMES[p.state]}`);
    } else if (p.state === BFD_STATE.Down) this.setState(BFD_STATE.Down, BFD_DIAG.NeighborDown, 'neighbour signalled Down');
    if (p.poll) this.sendNow(true);
    // a changed rate (the peer's RequiredMinRx, or the end of a poll) restarts the timer
    if (this.baseTx() !== this.timerBase) this.scheduleTx(true);
  }

  private desiredTxFor(state: BfdState): number {
    // RFC 5880 §6.8.3: at least one second while not Up (keepalived: idle_tx)
    return state === BFD_STATE.Up ? this.spec.minTx * 1000 : Math.max(1_000_000, this.spec.idleTx * 1000);
  }

  private setState(next: BfdState, diag: number, why: string): void {
    const was = this.state;
    if (was === next) return;
    this.state = next;
    this.localDiag = diag;
    this.log(`BFD ${this.name}: ${STATE_NAMES[was]} -> ${STATE_NAMES[next]} (${why})`);
    const tx = this.desiredTxFor(next);
    if (tx !== this.advertisedTx) {
      const slower = tx > this.advertisedTx;
      this.advertisedTx = tx;
      // a faster rate may start now; a slower one only after the poll (while Up)
      if (!slower || was !== BFD_STATE.Up) this.activeTx = tx;
      this.pollActive = true;
    }
    if (next === BFD_STATE.Up) {
      this.stats.upTransitions++;
      this.emit(true, why);
    } else if (was === BFD_STATE.Up) {
      this.stats.downTransitions++;
      this.emit(false, why);
    }
    this.sendNow(false);
    if (this.baseTx() !== this.timerBase) this.scheduleTx(true);
  }

  private emit(up: boolean, detail: string): void {
    for (const fn of this.listeners) fn(up, detail);
  }

  private armDetect(): void {
    if (this.detectTimer) clearTimeout(this.detectTimer);
    const us = this.remoteDetectMult * Math.max(this.spec.minRx * 1000, this.remoteDesiredTx);
    this.detectTimer = setTimeout(() => {
      this.detectTimer = null;
      this.remoteDiscr = 0;
      if (this.state === BFD_STATE.Init || this.state === BFD_STATE.Up) {
        this.setState(BFD_STATE.Down, BFD_DIAG.ControlDetectionExpired, `no packet for ${us / 1000} ms`);
      }
    }, Math.max(1, Math.round(us / 1000)));
  }

  private baseTx(): number {
    return Math.max(this.activeTx, this.remoteMinRx) / 1000;
  }

  private scheduleTx(restart = false): void {
    if (!this.running) return;
    if (this.txTimer && !restart) return;
    if (this.txTimer) clearTimeout(this.txTimer);
    this.timerBase = this.baseTx();
    const hi = this.spec.multiplier === 1 ? 0.9 : 1;
    const ms = this.timerBase * (0.75 + Math.random() * (hi - 0.75));
    this.txTimer = setTimeout(() => {
      this.txTimer = null;
      this.sendNow(false);
      this.scheduleTx();
    }, ms);
  }

  private packet(final: boolean, poll: boolean): Buffer {
    return encodeBfd({
      diag: this.localDiag,
      state: this.state,
      poll,
      final,
      cpi: true,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: this.spec.multiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTx: this.advertisedTx,
      requiredMinRx: this.spec.minRx * 1000,
      requiredMinEchoRx: 0,
    });
  }

  private sendNow(final: boolean): void {
    if (!this.sock || !this.running) return;
    // §6.8.7: passive, or the peer asked for no packets (RequiredMinRx 0)
    if (this.spec.passive && this.remoteDiscr === 0) return;
    if (this.remoteMinRx === 0 && !final) return;
    this.stats.sent++;
    this.sock.send(this.packet(final, final ? false : this.pollActive), this.peerPort, this.spec.neighbor);
  }

  private clearTimers(): void {
    if (this.txTimer) clearTimeout(this.txTimer);
    if (this.detectTimer) clearTimeout(this.detectTimer);
    this.txTimer = null;
    this.detectTimer = null;
  }
}

/**
 * The BFD sessions of a configuration: one receive socket per address family on port
 * 3784 dispatching to the sessions. `update()` keeps sessions whose bfd_instance is
 * unchanged across reloads, so a reload does not flap a BFD_CHECK.
 */
export class BfdManager {
  readonly sessions = new Map<string, BfdSession>();
  private readonly rx = new Map<4 | 6, Socket>();
  private running = false;

  constructor(
    private readonly log: (line: string) => void = () => undefined,
    private readonly opts: { port?: number; peerPort?: number } = {},
  ) {}

  /** Starts the sessions of `instances` (and stops those no longer configured or changed). */
  async update(instances: readonly BfdInstance[]): Promise<void> {
    const want = new Map(instances.map((b) => [b.name, b]));
    for (const [name, s] of this.sessions) {
      const w = want.get(name);
      if (w === undefined || !sameInstance(w, s.spec)) {
        s.stop();
        this.sessions.delete(name);
      }
    }
    this.running = true;
    // sessions are in the map at once (a HealthManager built right after finds them);
    // their sockets open asynchronously
    const fresh: BfdSession[] = [];
    for (const b of instances) {
      if (this.sessions.has(b.name)) continue;
      const s = new BfdSession(b, this.log, this.opts.peerPort ?? BFD_CONTROL_PORT);
      this.sessions.set(b.name, s);
      fresh.push(s);
    }
    for (const s of fresh) {
      await this.openRx(isIP(s.spec.neighbor) === 6 ? 6 : 4);
      await s.start();
    }
  }

  /** Stops every session (AdminDown to the peers) and closes the sockets. */
  stop(): void {
    this.running = false;
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
    for (const s of this.rx.values()) s.close();
    this.rx.clear();
  }

  private async openRx(fam: 4 | 6): Promise<void> {
    if (this.rx.has(fam) || !this.running) return;
    const s = createSocket({ type: fam === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    s.on('message', (m: Buffer, from) => this.dispatch(m, from.address));
    s.on('error', (e) => this.log(`BFD receive socket: ${e.message}`));
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind({ port: this.opts.port ?? BFD_CONTROL_PORT }, () => {
        s.off('error', rej);
        res();
      });
    });
    this.rx.set(fam, s);
  }

  private dispatch(m: Buffer, from: string): void {
    const p = decodeBfd(m);
    if (p === null) return;
    for (const s of this.sessions.values()) {
      if (p.yourDiscr !== 0 ? s.localDiscr === p.yourDiscr : s.spec.neighbor === from) {
        if (s.spec.neighbor !== from) return; // a known discriminator from the wrong address
        s.receive(p);
        return;
      }
    }
  }
}

function sameInstance(a: BfdInstance, b: BfdInstance): boolean {
  return (
    a.neighbor === b.neighbor &&
    a.source === b.source &&
    a.minRx === b.minRx &&
    a.minTx === b.minTx &&
    a.idleTx === b.idleTx &&
    a.multiplier === b.multiplier &&
    a.passive === b.passive &&
    a.ttl === b.ttl
  );
}
