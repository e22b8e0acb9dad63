/**
 * One-shot probes, each resolving (never rejecting) to a ProbeResult: a TCP connect, an
 * HTTP/HTTPS GET as keepalived's HTTP_GET/SSL_GET sends it (body MD5 like genhash), a
 * script with a timeout that kills its process group, and nanny's send/expect.
 */
import { createHash, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { SCRIPT_ENV } from '@tunvs/keepalived';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import type { TcpNetConnectOpts } from 'node:net';

/** The outcome of one probe. */
export interface ProbeResult {
  ok: boolean;
  /** MISC_CHECK with misc_dynamic: the weight the exit code asks for */
  weight?: number;
  /** human-readable reason, for logs */
  detail: string;
}

/** Where and how to connect. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** milliseconds */
  timeoutMs: number;
  bindto?: string;
  bindPort?: number;
}

function openSocket(o: ConnectOptions, tls: boolean, servername?: string): Socket {
  const base: TcpNetConnectOpts = { host: o.host, port: o.port };
  if (o.bindto !== undefined) base.localAddress = o.bindto;
  if (o.bindPort !== undefined) base.localPort = o.bindPort;
  if (tls) {
    // keepalived does not verify certificates unless a CA is configured
    const t: ConnectionOptions = { ...base, rejectUnauthorized: false };
    if (servername) t.servername = servername;
    return tlsConnect(t);
  }
  return netConnect(base);
}

/** TCP_CHECK: success iff the connection completes within the timeout. */
export function tcpProbe(o: ConnectOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = openSocket(o, false);
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `connect timeout after ${o.timeoutMs} ms` }), o.timeoutMs);
    s.once('connect', () => finish({ ok: true, detail: 'connected' }));
    s.once('error', (e) => finish({ ok: false, detail: e.message }));
  });
}

/** Everything an HTTP_GET / SSL_GET probe needs. */
export interface HttpProbeOptions extends ConnectOptions {
  tls: boolean;
  path: string;
  /** Host header; default `host:port` */
  virtualhost?: string;
  /** '1.0' (default), '1.0C' or '1.1' */
  httpProtocol?: '1.0' | '1.0C' | '1.1';
  /** send SNI (the virtualhost, else the host) */
  sni?: boolean;
}

/** What came back from an HTTP GET. */
export interface HttpResponse {
  /** 3-digit status, or 0 if none could be read */
  status: number;
  /** bytes before the first CRLFCRLF (including it) */
  header: Buffer;
  /** body bytes hashed: after the header, capped at Content-Length */
  body: Buffer;
  /** lowercase hex MD5 of `body` */
  md5: string;
}

/** The exact request keepalived sends (check_http.c request_template). */
export function httpRequest(o: Pick<HttpProbeOptions, 'host' | 'port' | 'path' | 'virtualhost' | 'httpProtocol'>): string {
  const proto = o.httpProtocol ?? '1.0';
  const host = o.virtualhost ?? (o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`);
  const version = proto === '1.1' ? 'HTTP/1.1' : 'HTTP/1.0';
  const close = proto === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${o.path} ${version}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

/** Splits a raw response as keepalived does: status token, header, Content-Length-capped body. */
export function parseHttpResponse(raw: Buffer): HttpResponse {
  const sep = raw.indexOf('\r\n\r\n');
  const header = sep < 0 ? raw : raw.subarray(0, sep + 4);
  let body = sep < 0 ? Buffer.alloc(0) : raw.subarray(sep + 4);
  const headText = header.toString('latin1');
  const m = /^\S*\s(\d{3})/.exec(headText);
  const status = m ? Number(m[1]) : 0;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
  if (cl) {
    const n = Number(cl[1]);
    if (n < body.length) body = body.subarray(0, n);
  }
  return { status, header, body, md5: createHash('md5').update(body).digest('hex') };
}

/** Performs one GET and reads to EOF (each read bounded by the timeout). Rejects on failure. */
export function httpGet(o: HttpProbeOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const sni = o.sni ? (o.virtualhost ?? o.host) : undefined;
    const s = openSocket(o, o.tls, sni);
    const chunks: Buffer[] = [];
    let done = false;
    let timer = setTimeout(() => fail(new Error(`timeout after ${o.timeoutMs} ms`)), o.timeoutMs);
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.once(o.tls ? 'secureConnect' : 'connect', () => {
      s.write(httpRequest(o));
    });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => fail(new Error(`read timeout after ${o.timeoutMs} ms`)), o.timeoutMs);
    });
    s.once('end', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const raw = Buffer.concat(chunks);
      if (raw.length === 0) reject(new Error('no data received'));
      else resolve(parseHttpResponse(raw));
    });
    s.once('error', (e) => fail(e));
  });
}

/** How an HTTP response is judged (one `url { }`). */
export interface UrlCriteria {
  statusCodes: Array<[number, number]>;
  digest?: string;
  regex?: string;
  regexNoMatch?: boolean;
}

/** keepalived's order: data → status code → digest → regex. */
export function judgeHttp(r: HttpResponse, u: UrlCriteria): ProbeResult {
  if (!u.statusCodes.some(([lo, hi]) => r.status >= lo && r.status <= hi)) return { ok: false, detail: `HTTP status code error ${r.status}` };
  if (u.digest !== undefined && u.digest !== r.md5) return { ok: false, detail: `MD5 digest error: expected ${u.digest}, got ${r.md5}` };
  if (u.regex !== undefined) {
    const hit = new RegExp(u.regex).test(r.body.toString('latin1'));
    if (hit === (u.regexNoMatch ?? false)) return { ok: false, detail: `regex ${u.regexNoMatch ? 'matched' : 'did not match'}` };
  }
  return { ok: true, detail: `HTTP ${r.status}` };
}

/** An HTTP_GET/SSL_GET probe of one url. */
export async function httpProbe(o: HttpProbeOptions, u: UrlCriteria): Promise<ProbeResult> {
  try {
    return judgeHttp(await httpGet(o), u);
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/** A script probe. */
export interface ScriptProbeOptions {
  argv: string[];
  timeoutMs: number;
  /** exit codes 2..255 → up with weight code - 2 */
  dynamic: boolean;
  /** delay between SIGTERM and SIGKILL on timeout; default 2000 ms as keepalived */
  killGraceMs?: number;
  /** run as this user and group (supplementary groups dropped); default: tunvsd's own */
  uid?: number;
  gid?: number;
  /** the environment (default SCRIPT_ENV: a fixed PATH, nothing of tunvsd's) */
  env?: Readonly<Record<string, string>>;
}

/** Process groups of the scripts running now (each script leads its own group). */
const runningGroups = new Set<number>();

/**
 * Starts a script in its own process group as `uid`/`gid` with a clean environment,
 * stdin/stdout/stderr on /dev/null (as keepalived does); the group is remembered until
 * the script exits so that killRunningScripts() can end it with everything it started.
 */
export function spawnScript(argv: readonly string[], o: { uid?: number; gid?: number; env?: Readonly<Record<string, string>> } = {}): ChildProcess {
  const opts: SpawnOptions = { stdio: 'ignore', detached: true, env: { ...(o.env ?? SCRIPT_ENV) } };
  const me = process.getuid?.();
  if (o.gid !== undefined && (me === 0 || o.gid !== process.getgid?.())) opts.gid = o.gid;
  if (o.uid !== undefined && (me === 0 || o.uid !== me)) opts.uid = o.uid;
  const child = spawn(argv[0]!, argv.slice(1), opts);
  const pid = child.pid;
  if (pid !== undefined) {
    runningGroups.add(pid);
    child.once('exit', () => runningGroups.delete(pid));
  }
  return child;
}

/** Sends `signal` to the whole process group of every script still running. */
export function killRunningScripts(signal: NodeJS.Signals = 'SIGKILL'): number {
  let n = 0;
  for (const pgid of runningGroups) {
    try {
      process.kill(-pgid, signal);
      n++;
    } catch {
      // already gone
    }
  }
  if (signal === 'SIGKILL') runningGroups.clear();
  return n;
}

/** MISC_CHECK: 0 up, 1 down, 2..255 up with weight (dynamic) else down; timeout kills the group. */
export function scriptProbe(o: ScriptProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let child: ChildProcess;
    try {
      child = spawnScript(o.argv, o);
    } catch (e) {
      resolve({ ok: false, detail: `cannot run ${o.argv[0]}: ${(e as Error).message}` });
      return;
    }
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? 2000);
    }, o.timeoutMs);
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve(r);
    };
    child.once('error', (e) => finish({ ok: false, detail: `cannot run ${o.argv[0]}: ${e.message}` }));
    child.once('exit', (code, signal) => {
      if (timedOut) {
        killGroup('SIGKILL');
        finish({ ok: false, detail: `timed out after ${o.timeoutMs} ms` });
      } else if (code === null) finish({ ok: false, detail: `killed by ${signal}` });
      else if (code === 0) finish({ ok: true, detail: 'exit 0' });
      else if (code === 1 || !o.dynamic) finish({ ok: false, detail: `exit ${code}` });
      else finish({ ok: true, weight: code - 2, detail: `exit ${code}: weight ${code - 2}` });
    });
  });
}

/** Decodes nanny's escapes in send strings: `\n`, `\r`, `\\`, `\'`. */
export function decodeNannyEscapes(s: string): string {
  return s.replace(/\\([nr\\'])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

/** nanny's send/expect check. */
export interface SendExpectOptions extends ConnectOptions {
  send?: string;
  expect?: string;
  useRegex?: boolean;
}

/**
 * Connect; send if given; if expect is given, read once and require that the first
 * `expect.length` bytes equal it (`*` = any byte; with useRegex: regex over ≤254 bytes).
 */
export function sendExpectProbe(o: SendExpectOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = openSocket(o, false);
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `timeout after ${o.timeoutMs} ms` }), o.timeoutMs);
    s.once('error', (e) => finish({ ok: false, detail: e.message }));
    s.once('connect', () => {
      if (o.send !== undefined) s.write(decodeNannyEscapes(o.send));
      if (o.expect === undefined) {
        finish({ ok: true, detail: 'connected' });
        return;
      }
      const expect = o.expect;
      s.once('data', (d: Buffer) => {
        if (expect === '*') return finish({ ok: d.length > 0, detail: 'any byte' });
        if (o.useRegex) {
          const ok = new RegExp(expect).test(d.subarray(0, 254).toString('latin1'));
          return finish({ ok, detail: ok ? 'regex matched' : 'regex did not match' });
        }
        const got = d.subarray(0, Buffer.byteLength(expect)).toString('latin1');
        finish({ ok: got === expect, detail: got === expect ? 'expect matched' : `expected ${JSON.stringify(expect)}, got ${JSON.stringify(got)}` });
      });
      s.once('end', () => finish({ ok: false, detail: 'connection closed before any data' }));
    });
  });
}

/** SMTP_CHECK's dialogue. */
export interface SmtpProbeOptions extends ConnectOptions {
  heloName: string;
}

/**
 * SMTP_CHECK: connect, expect a `220` banner, send `HELO name`, expect `250`, send
 * `QUIT`, expect `221`. Each line must arrive within the timeout; only the 3-digit code
 * at the start of the reply's first line is looked at, as keepalived does.
 */
export function smtpProbe(o: SmtpProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = openSocket(o, false);
    let done = false;
    let buf = '';
    const steps: Array<{ want: number; send?: string; what: string }> = [
      { want: 220, send: `HELO ${o.heloName}\r\n`, what: 'banner' },
      { want: 250, send: 'QUIT\r\n', what: 'HELO' },
      { want: 221, what: 'QUIT' },
    ];
    let step = 0;
    let timer = setTimeout(() => finish({ ok: false, detail: `connect timeout after ${o.timeoutMs} ms` }), o.timeoutMs);
    const rearm = (what: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ ok: false, detail: `read timeout waiting for the ${what} reply` }), o.timeoutMs);
    };
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.once('error', (e) => finish({ ok: false, detail: e.message }));
    s.once('connect', () => rearm('banner'));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      // a reply may span several lines (`250-...`); the code is on the last one (`250 ...`)
      while (true) {
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > 4096) finish({ ok: false, detail: 'reply line too long' });
          return;
        }
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const m = /^(\d{3})([ -]?)/.exec(line);
        if (m !== null && m[2] === '-') continue;
        const cur = steps[step]!;
        const code = m ? Number(m[1]) : -1;
        if (code !== cur.want) {
          finish({ ok: false, detail: `bad ${cur.what} reply ${JSON.stringify(line.slice(0, 80))} (want ${cur.want})` });
          return;
        }
        step++;
        if (step === steps.length) {
          finish({ ok: true, detail: 'SMTP 220/250/221' });
          return;
        }
        if (cur.send !== undefined) s.write(cur.send);
        rearm(steps[step]!.what);
      }
    });
    s.once('end', () => finish({ ok: false, detail: `connection closed before the ${steps[step]!.what} reply` }));
  });
}

/** DNS_CHECK's query. */
export interface DnsProbeOptions extends ConnectOptions {
  /** numeric query type (1 A, 2 NS, 5 CNAME, 6 SOA, 15 MX, 16 TXT, 28 AAAA) */
  qtype: number;
  /** query name; `.` is the root */
  name: string;
  /** the query id (default random) */
  id?: number;
}

/** The query DNS_CHECK sends: one question, class IN, recursion desired. */
export function dnsQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id & 0xffff, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  parts.push(head);
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    if (b.length > 63) throw new RangeError(`DNS label too long: ${l}`);
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt8(0, 0);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}

/**
 * DNS_CHECK: send the query over UDP and wait for a reply carrying the same id with QR
 * set; up iff its RCODE is 0 (NOERROR). Replies with another id, and queries, are
 * ignored as keepalived ignores them; the answer section is not read.
 */
export function dnsProbe(o: DnsProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const id = o.id ?? randomInt(0, 0x10000);
    let done = false;
    const s = createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `read timeout after ${o.timeoutMs} ms` }), o.timeoutMs);
    s.on('error', (e) => finish({ ok: false, detail: e.message }));
    s.on('message', (m: Buffer) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id || (m[2]! & 0x80) === 0) return;
      const rcode = m[3]! & 0x0f;
      if (rcode !== 0) finish({ ok: false, detail: `DNS rcode ${rcode}` });
      else finish({ ok: true, detail: `DNS NOERROR, ${m.readUInt16BE(6)} answers` });
    });
    const go = (): void => {
      s.connect(o.port, o.host, () => s.send(dnsQuery(id, o.name, o.qtype)));
    };
    if (o.bindto !== undefined || o.bindPort !== undefined) s.bind({ ...(o.bindto !== undefined ? { address: o.bindto } : {}), port: o.bindPort ?? 0 }, go);
    else go();
  });
}

/** UDP_CHECK's exchange. */
export interface UdpProbeOptions extends ConnectOptions {
  payload?: Uint8Array;
  requireReply: boolean;
  replyData?: Uint8Array;
  replyMask?: Uint8Array;
  minReplyLength: number;
  maxReplyLength: number;
}

/** keepalived's reply test: length within [min, max], then the masked prefix compare. */
export function udpReplyMatches(reply: Uint8Array, o: Pick<UdpProbeOptions, 'replyData' | 'replyMask' | 'minReplyLength' | 'maxReplyLength'>): boolean {
  const data = o.replyData;
  if (data === undefined) return true;
  if (reply.length < o.minReplyLength || reply.length > o.maxReplyLength) return false;
  const n = Math.min(reply.length, data.length);
  for (let i = 0; i < n; i++) {
    const care = o.replyMask ? ~o.replyMask[i]! & 0xff : 0xff;
    if (((reply[i]! ^ data[i]!) & care) !== 0) return false;
  }
  return true;
}

/**
 * UDP_CHECK: send the payload (an empty datagram without one) from a connected socket.
 * An ICMP error (port unreachable: ECONNREFUSED) fails. A reply succeeds unless
 * `require_reply` data is given and does not match. With no answer at all within the
 * timeout the check succeeds, unless `require_reply` is set.
 */
export function udpProbe(o: UdpProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const s = createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish(o.requireReply ? { ok: false, detail: `no reply within ${o.timeoutMs} ms` } : { ok: true, detail: 'no ICMP error' }),
      o.timeoutMs,
    );
    s.on('error', (e) => finish({ ok: false, detail: e.message }));
    s.on('message', (m: Buffer) => {
      // keepalived reads at most max_reply_length + 1 bytes
      const reply = m.subarray(0, o.maxReplyLength + 1);
      if (o.requireReply && !udpReplyMatches(reply, o)) finish({ ok: false, detail: `reply data mismatch (${m.length} bytes)` });
      else finish({ ok: true, detail: `reply of ${m.length} bytes` });
    });
    const go = (): void => {
      s.connect(o.port, o.host, () => s.send(o.payload ?? new Uint8Array(0)));
    };
    if (o.bindto !== undefined || o.bindPort !== undefined) s.bind({ ...(o.bindto !== undefined ? { address: o.bindto } : {}), port: o.bindPort ?? 0 }, go);
    else go();
  });
}

/** PING_CHECK's echo. */
export interface PingProbeOptions {
  host: string;
  timeoutMs: number;
  bindto?: string;
  /** the ping program (default `ping`, iputils) */
  program?: string;
}

/**
 * PING_CHECK: one ICMP echo request, up iff an echo reply arrives within the timeout.
 * Node has no ICMP socket, so the echo is sent by iputils' `ping -c 1` (which, like
 * keepalived, uses the kernel's unprivileged ICMP datagram socket where allowed).
 */
export function pingProbe(o: PingProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const secs = Math.max(0.001, o.timeoutMs / 1000).toFixed(3);
    const args = ['-n', '-q', '-c', '1', '-W', secs];
    if (o.bindto !== undefined) args.push('-I', o.bindto);
    if (o.host.includes(':')) args.push('-6');
    args.push(o.host);
    let err = '';
    const child = spawn(o.program ?? 'ping', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => resolve({ ok: false, detail: `cannot run ping: ${e.message}` }));
    child.once('exit', (code) => {
      if (code === 0) resolve({ ok: true, detail: 'echo reply' });
      else resolve({ ok: false, detail: err.trim() || `no echo reply within ${o.timeoutMs} ms` });
    });
  });
}
