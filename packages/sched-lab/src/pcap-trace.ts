/**
 * `tunvs-sched trace-from-pcap FILE --vip VIP:PORT [--proto tcp|udp]`: a capture (pcap or
 * pcapng; Ethernet, raw IP as on a TUN device, Linux cooked) turned into a replay trace.
 *
 * Packets are read with @tunvs/packet (classifyFrame and its views). A flow is a client
 * address and port talking to VIP:PORT:
 *
 *   - TCP: a SYN without ACK from the client opens it: `connect`; the client's ACK that
 *     completes the handshake: `packet` (the entry becomes ESTABLISHED, 900 s, instead of
 *     SYN_RECV's 60 s); the first FIN (either side): `close` (TIME_WAIT); an RST (either
 *     side): `close` with `rst` (CLOSE, 10 s). A SYN after the close reuses the port: a
 *     new `connect`, as the kernel reschedules a SYN that hits a closing entry.
 *   - UDP: a client datagram opens a flow (`connect`); a datagram more than the UDP
 *     timeout (300 s, `--udp-timeout`) after the flow's last packet opens a new one, as
 *     the kernel's entry has expired by then.
 *   - between the lines, time passes: `advance`. A flow that stays quiet longer than its
 *     timeout in the replay (but not in the capture) gets a `packet` line at the last packet
 *     before the gap, and at its last packet, so its entry lives exactly as long as the
 *     live one (the kernel's timeouts then expire it in the replay).
 *
 * When the capture also holds the director's side of a flow (on a TUN device: the packet
 * rewritten to the real server; IPIP: the outer header's destination), the live decision
 * is learned too (`live`), in the replay output format `{"n":K,"dest":"ip:port"}`, so a
 * replay can be compared with what the live director did.
 */
import { Proto } from '@tunvs/model';
import { readCapture, classifyFrame, FrameInfo, Ipv4View, TcpView, UdpView, TcpFlag, ipv4Offset, reasonName, formatIpv4, parseEndpoint, CheckFlags } from '@tunvs/packet';

/** Options of the conversion. */
export interface PcapTraceOptions {
  /** the service: "10.10.0.100:80" */
  vip: string;
  proto?: 'tcp' | 'udp';
  /** emit the service and destinations first (a complete, replayable trace) */
  scheduler?: string;
  /** destinations "ip:port" with an optional "@weight", in the order to add them */
  dests?: string[];
  flags?: string[];
  persistence?: number;
  /** UDP flow idle timeout in seconds (the kernel's default 300) */
  udpTimeout?: number;
  /** TCP ESTABLISHED timeout in seconds (900) */
  tcpTimeout?: number;
}

/** The trace and what was found. */
export interface PcapTrace {
  lines: string[];
  /** per connect, what the live director did (null when the capture does not show it) */
  live: (string | null)[];
  stats: {
    records: number;
    format: string;
    packets: number;
    flows: number;
    connects: number;
    closes: number;
    resets: number;
    skipped: Record<string, number>;
  };
}

/** An option that cannot be used (named in the message). */
export class PcapTraceError extends Error {
  override readonly name = 'PcapTraceError';
}

interface Pkt {
  t: number;
  key: number;
  /** 0 client -> VIP, 1 VIP -> client */
  dir: 0 | 1;
  flags: number;
  /** index of the next packet of the same flow (-1 none) */
  next: number;
  /** a real server's reply seen on the director's side (before the rewrite) */
  nat: boolean;
}

interface Flow {
  n: number;
  /** 'syn' until the handshake completes, 'est', 'fin' after a FIN, 'rst' after a reset */
  state: 'syn' | 'est' | 'fin' | 'rst';
  last: number;
  lastEmit: number;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Convert the capture at `file` (see the module comment). */
export function pcapToTrace(file: string, o: PcapTraceOptions): PcapTrace {
  let vip: { addr: number; port: number };
  try {
    vip = parseEndpoint(o.vip);
  } catch (e) {
    throw new PcapTraceError(`--vip ${o.vip}: ${(e as Error).message}`);
  }
  if (vip.port === 0) throw new PcapTraceError(`--vip ${o.vip}: give the service port (VIP:PORT)`);
  const proto = o.proto ?? 'tcp';
  const ipProto = proto === 'tcp' ? Proto.TCP : Proto.UDP;
  const udpTimeout = (o.udpTimeout ?? 300) * 1000;
  const tcpTimeout = (o.tcpTimeout ?? 900) * 1000;
  const cap = readCapture(file);
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => void (skipped[why] = (skipped[why] ?? 0) + 1);
  const info = new FrameInfo();
  const ip = new Ipv4View();
  const tcp = new TcpView();
  const udp = new UdpView();
  const pkts: Pkt[] = [];
  // the director's side: flow key -> [time, "real server"] of each flow start seen there
  const liveSeen = new Map<number, [number, string][]>();
  const seen = (key: number, t: number, dest: string): void => {
    let l = liveSeen.get(key);
    if (!l) liveSeen.set(key, (l = []));
    l.push([t, dest]);
  };
  const natReplies = new Set<number>();
  let t0 = NaN;
  let tPrev = 0;

  /** Classify the IPv4 packet at `off`; fill `ip` and the L4 view; 0 or a skip reason. */
  const l3 = (data: Uint8Array, off: number): string | null => {
    const r = classifyFrame(data, off, data.length - off, 'tun', info, CheckFlags.None);
    if (r !== 0) return `malformed: ${reasonName(r)}`;
    if (info.fragment && info.l4Off < 0) return 'later fragment';
    ip.reset(data, off, info.ipTotalLen);
    return null;
  };
  for (const rec of cap.records) {
    let data = rec.data;
    if (rec.origLen > data.length && rec.origLen <= 65535 + 64) {
      // cut by the snap length: the headers are there; pad to the wire length so the
      // length checks pass (no payload byte is read)
      const full = new Uint8Array(rec.origLen);
      full.set(data);
      data = full;
    }
    const off = ipv4Offset(rec.linktype, data);
    if (off < 0) {
      skip(`not IPv4 (link type ${rec.linktype})`);
      continue;
    }
    const bad = l3(data, off);
    if (bad !== null) {
      skip(bad);
      continue;
    }
    if (Number.isNaN(t0)) t0 = rec.time;
    let t = (rec.time - t0) * 1000;
    if (t < tPrev) t = tPrev; // a capture out of order: time never goes back
    tPrev = t;
    let src = ip.src;
    let dst = ip.dst;
    let p = ip.protocol;
    let outer = -1;
    if (p === Proto.IPIP && info.l4Off >= 0) {
      // the director's IPIP copy: the inner packet went to the real server in the outer destination
      outer = dst;
      const inner = l3(data, info.l4Off);
      if (inner !== null) {
        skip(`ipip inner ${inner}`);
        continue;
      }
      src = ip.src;
      dst = ip.dst;
      p = ip.protocol;
    }
    if (p !== ipProto) {
      skip(`not ${proto}`);
      continue;
    }
    let sport: number;
    let dport: number;
    let flags = 0;
    if (p === Proto.TCP) {
      tcp.reset(data, info.l4Off, info.l4Len);
      sport = tcp.srcPort;
      dport = tcp.dstPort;
      flags = tcp.flags;
    } else {
      udp.reset(data, info.l4Off, info.l4Len);
      sport = udp.srcPort;
      dport = udp.dstPort;
    }
    if (outer >= 0) {
      const start = p === Proto.UDP || (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
      if (dst === vip.addr && dport === vip.port) {
        if (start) seen(src * 65536 + sport, t, `${formatIpv4(outer)}:${vip.port}`);
      } else skip('ipip, not to the service');
      continue;
    }
    if (dst === vip.addr && dport === vip.port) {
      pkts.push({ t, key: src * 65536 + sport, dir: 0, flags, next: -1, nat: false });
    } else if (src === vip.addr && sport === vip.port) {
      pkts.push({ t, key: dst * 65536 + dport, dir: 1, flags, next: -1, nat: false });
    } else {
      // the director's side of a flow: client -> real server (NAT), or the server's reply
      const start = p === Proto.UDP || (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
      const back = dst * 65536 + dport;
      const l = liveSeen.get(back);
      if (start && !(l && l[l.length - 1]![1] === `${formatIpv4(src)}:${sport}`)) seen(src * 65536 + sport, t, `${formatIpv4(dst)}:${dport}`);
      else if (l && l[l.length - 1]![1] === `${formatIpv4(src)}:${sport}`) {
        // the real server's reply before the director rewrote it: this is the moment the
        // director saw it (its rewritten copy to the client comes later in the capture)
        pkts.push({ t, key: back, dir: 1, flags, next: -1, nat: true });
        natReplies.add(back);
      } else skip(liveSeen.has(src * 65536 + sport) ? "the director's copy to a real server" : 'not to or from the service');
    }
  }
  // with the real servers' replies in the capture, their rewritten copies are duplicates
  if (natReplies.size > 0) {
    let w = 0;
    for (const q of pkts) if (q.nat || q.dir === 0 || !natReplies.has(q.key)) pkts[w++] = q;
    pkts.length = w;
  }
  // the next packet of each flow, for the timer refreshes
  const lastIdx = new Map<number, number>();
  for (let i = 0; i < pkts.length; i++) {
    const k = pkts[i]!.key;
    const j = lastIdx.get(k);
    if (j !== undefined) pkts[j]!.next = i;
    lastIdx.set(k, i);
  }

  const lines: string[] = [];
  const live: (string | null)[] = [];
  const liveKeys: number[] = [];
  const liveTimes: number[] = [];
  if (o.scheduler !== undefined) {
    lines.push(JSON.stringify({ op: 'service', scheduler: o.scheduler, proto, vip: formatIpv4(vip.addr), port: vip.port, ...(o.flags?.length ? { flags: o.flags } : {}), ...(o.persistence ? { persistence: o.persistence } : {}) }));
    for (const d of o.dests ?? []) {
      const m = /^([^@]+)(?:@(\d+))?$/.exec(d);
      let ep;
      try {
        ep = parseEndpoint(m ? m[1]! : d);
      } catch (e) {
        throw new PcapTraceError(`--dest ${d}: ${(e as Error).message}`);
      }
      lines.push(JSON.stringify({ op: 'add', dest: `${formatIpv4(ep.addr)}:${ep.port}`, ...(m?.[2] !== undefined ? { weight: Number(m[2]) } : {}) }));
    }
  } else if (o.dests?.length) throw new PcapTraceError('--dest needs --scheduler (the trace then starts with the service and its destinations)');
  let emitted = 0; // time of the trace so far, ms
  const at = (t: number): void => {
    const dt = round6((t - emitted) / 1000);
    if (dt > 0) {
      lines.push(JSON.stringify({ op: 'advance', seconds: dt }));
      emitted += dt * 1000;
    }
  };
  const flows = new Map<number, Flow>();
  let connects = 0;
  let closes = 0;
  let resets = 0;
  let nflows = 0;
  const client = (key: number): string => `${formatIpv4(Math.floor(key / 65536))}:${key % 65536}`;
  const open = (p: Pkt): Flow => {
    at(p.t);
    const n = connects++;
    lines.push(JSON.stringify({ op: 'connect', client: client(p.key) }));
    live.push(null);
    liveKeys.push(p.key);
    liveTimes.push(p.t);
    const f: Flow = { n, state: 'syn', last: p.t, lastEmit: p.t };
    flows.set(p.key, f);
    nflows++;
    return f;
  };
  const emit = (f: Flow, p: Pkt, o2: Record<string, unknown>): void => {
    at(p.t);
    lines.push(JSON.stringify({ ...o2, n: f.n }));
    f.lastEmit = p.t;
  };
  for (let i = 0; i < pkts.length; i++) {
    const p = pkts[i]!;
    let f = flows.get(p.key);
    if (ipProto === Proto.TCP) {
      const syn = (p.flags & TcpFlag.SYN) !== 0;
      const ack = (p.flags & TcpFlag.ACK) !== 0;
      if (p.dir === 0 && syn && !ack) {
        if (!f || f.state === 'fin' || f.state === 'rst') f = open(p);
        f.last = p.t;
        continue;
      }
      if (!f) {
        skip('tcp without its SYN');
        continue;
      }
      f.last = p.t;
      if ((p.flags & TcpFlag.RST) !== 0) {
        if (f.state !== 'rst') {
          emit(f, p, { op: 'close', rst: true });
          f.state = 'rst';
          resets++;
        }
        continue;
      }
      if ((p.flags & TcpFlag.FIN) !== 0) {
        if (f.state === 'syn' || f.state === 'est') {
          emit(f, p, { op: 'close' });
          f.state = 'fin';
          closes++;
        }
        continue;
      }
      if (f.state === 'syn' && p.dir === 0 && ack) {
        emit(f, p, { op: 'packet' });
        f.state = 'est';
        continue;
      }
      if (f.state === 'est') refresh(f, p, tcpTimeout);
    } else {
      if (!f || p.t - f.last > udpTimeout) {
        if (p.dir !== 0) {
          skip('udp reply without its request');
          continue;
        }
        f = open(p);
      }
      f.last = p.t;
      refresh(f, p, udpTimeout);
    }
  }

  /** A `packet` line when the replay's entry would otherwise expire before the live one. */
  function refresh(f: Flow, p: Pkt, timeout: number): void {
    const next = p.next >= 0 ? pkts[p.next]!.t : -1;
    const needed = next >= 0 ? next - f.lastEmit >= timeout - 1000 : p.t - f.lastEmit >= 1000;
    if (needed) emit(f, p, { op: 'packet' });
  }

  // the live decision of each connect: the first flow start of its tuple on the director's
  // side at or after the connect, before the tuple's next connect
  const nextOfKey = new Map<number, number>();
  const until = new Array<number>(liveKeys.length).fill(Infinity);
  for (let n = liveKeys.length - 1; n >= 0; n--) {
    const k = liveKeys[n]!;
    const later = nextOfKey.get(k);
    if (later !== undefined) until[n] = liveTimes[later]!;
    nextOfKey.set(k, n);
  }
  for (let n = 0; n < live.length; n++) {
    const hit = (liveSeen.get(liveKeys[n]!) ?? []).find(([t]) => t >= liveTimes[n]! && t < until[n]!);
    live[n] = hit ? hit[1] : null;
  }
  return {
    lines,
    live,
    stats: { records: cap.records.length, format: cap.format, packets: pkts.length, flows: nflows, connects, closes, resets, skipped },
  };
}
