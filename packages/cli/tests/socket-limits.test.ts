/**
 * The control socket's limits (issue 13 items 8 and 9) against the real Director: the
 * 1 MiB request line cap, framing in linear time, backpressure for a client that does not
 * read, the idle timeout, hostile requests answered without JS internals, and large
 * answers streamed in chunks with the event loop running between them.
 */
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createConnection, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { packet } from '@tunvs/packet';
import type { DirectorControl } from '@tunvs/model';
import { ControlClient, LineSplitter, LINE_TOO_LONG, serveControl } from '../src/index.js';
import type { ServeOptions } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lha-sock-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function director(connCapacity = 1024): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], sourceAddress: '10.10.1.1', timers: false, now: () => 1000, connCapacity });
  d.start();
  return { d, link };
}

async function serve(t: Test, ctl: DirectorControl, opts: ServeOptions = {}): Promise<{ path: string; server: Server }> {
  const path = join(dir, `s${n++}.sock`);
  const server = serveControl(ctl, path, opts);
  await once(server, 'listening');
  t.teardown(() => server.close());
  return { path, server };
}

/** A raw client: collects answer lines. */
async function raw(path: string): Promise<{ sock: Socket; lines: string[]; closed: Promise<void>; next(k?: number): Promise<string[]> }> {
  const sock = createConnection(path);
  await once(sock, 'connect');
  const lines: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('close', () => {
    for (const w of waiters.splice(0)) w();
  });
  const next = async (k = 1): Promise<string[]> => {
    while (lines.length < k && !sock.destroyed) await new Promise<void>((r) => waiters.push(r));
    return lines.splice(0, k);
  };
  return { sock, lines, closed, next };
}

t.test('a request line over 1 MiB: E2BIG, then the connection is closed; others are served', async (t) => {
  const { d } = director();
  const { path } = await serve(t, d);
  const c = await raw(path);
  c.sock.on('error', () => undefined); // the server closes while we still write
  const piece = Buffer.alloc(256 << 10, 0x20);
  for (let i = 0; i < 8 && !c.sock.destroyed; i++) c.sock.write(piece); // 2 MiB, no newline
  const [ans] = await c.next();
  const a = JSON.parse(ans!) as { ok: boolean; error: { code: string; message: string } };
  t.equal(a.ok, false);
  t.equal(a.error.code, 'E2BIG');
  t.match(a.error.message, /longer than 1048576 bytes/);
  await c.closed;
  t.pass('closed after the answer');
  // a line just under the cap is an ordinary request
  const ok = await raw(path);
  const pad = ' '.repeat((1 << 20) - 100);
  ok.sock.write(`{"id":1,"op":"info"${pad}}\n`);
  t.match(JSON.parse((await ok.next())[0]!), { id: 1, ok: true });
  ok.sock.destroy();
});

t.test('framing is linear: every byte is scanned once, however it is chunked', async (t) => {
  // count the bytes Buffer.indexOf looks at while a 4 MiB line arrives in 4 KiB chunks
  const realIndexOf = Buffer.prototype.indexOf;
  let scanned = 0;
  Buffer.prototype.indexOf = function (this: Buffer, v: never, from?: never, enc?: never): number {
    const r = realIndexOf.call(this, v, from, enc);
    scanned += (r < 0 ? this.length : r + 1) - (typeof from === 'number' ? from : 0);
    return r;
  } as typeof Buffer.prototype.indexOf;
  try {
    const s = new LineSplitter(8 << 20);
    const chunk = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 1024; i++) {
      s.push(chunk);
      t.equal(s.next(), null);
    }
    s.push(Buffer.from('\n'));
    const line = s.next();
    t.ok(Buffer.isBuffer(line) && line.length === 4 << 20, 'the whole line');
    t.ok(scanned <= (4 << 20) + 16, `scanned ${scanned} bytes for a ${4 << 20}-byte line`);
  } finally {
    Buffer.prototype.indexOf = realIndexOf;
  }
  const s = new LineSplitter(10);
  s.push(Buffer.from('0123456789A'));
  t.equal(s.next(), LINE_TOO_LONG, 'over the cap before any newline');
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 20 }).map((x) => x.replace(/\n/g, '')), { maxLength: 20 }), fc.array(fc.nat(30), { minLength: 1, maxLength: 30 }), (lines, cuts) => {
      const text = Buffer.from(lines.map((l) => l + '\n').join(''));
      const sp = new LineSplitter();
      const got: string[] = [];
      let pos = 0;
      let k = 0;
      while (pos < text.length) {
        const len = Math.max(1, cuts[k++ % cuts.length]!);
        sp.push(text.subarray(pos, pos + len));
        pos += len;
        for (let l = sp.next(); l !== null && l !== LINE_TOO_LONG; l = sp.next()) got.push(l.toString());
      }
      return JSON.stringify(got) === JSON.stringify(lines) && sp.buffered === 0;
    }),
  );
});

t.test('a client that never reads: tunvsd stops reading its requests; nothing is lost', async (t) => {
  const { d } = director();
  for (let i = 0; i < 20; i++) d.addService({ protocol: 'tcp', addr: `10.0.0.${i + 1}`, port: 80 });
  let calls = 0;
  const ctl = new Proxy(d, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (prop === 'listServices') return () => (calls++, target.listServices());
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const { path } = await serve(t, ctl);
  const sock = createConnection(path);
  await once(sock, 'connect');
  sock.pause(); // never read
  const N = 2000;
  const req = Buffer.from(Array.from({ length: N }, (_, i) => `{"id":${i},"op":"listServices"}\n`).join(''));
  sock.write(req);
  let last = -1;
  for (let i = 0; i < 100 && calls !== last; i++) {
    last = calls;
    await new Promise((r) => setTimeout(r, 100));
  }
  const answerBytes = JSON.stringify(d.listServices()).length;
  t.ok(calls < N, `${calls} of ${N} requests answered while nothing is read`);
  t.ok(calls * answerBytes < 16 << 20, `queued answers stay bounded (${calls} x ${answerBytes} bytes)`);
  // now read everything: every request is answered, in order
  let got = 0;
  let buf = '';
  let inOrder = true;
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const a = JSON.parse(buf.slice(0, i)) as { id: number };
      if (a.id !== got) inOrder = false;
      got++;
      buf = buf.slice(i + 1);
    }
  });
  sock.resume();
  for (let i = 0; i < 600 && got < N; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(got, N, 'all answered once the client reads');
  t.ok(inOrder, 'in request order');
  sock.destroy();
});

t.test('idle connections are closed', async (t) => {
  const { d } = director();
  const { path } = await serve(t, d, { idleTimeoutMs: 200 });
  const c = await raw(path);
  c.sock.write('{"id":1,"op":"info"}\n');
  await c.next();
  await c.closed;
  t.pass('closed after 200 ms without traffic');
});

t.test('hostile requests: every one answered with a code, no JS internals, the server goes on', async (t) => {
  const { d } = director();
  d.addService({ protocol: 'tcp', addr: '10.0.0.1', port: 80 });
  const { path } = await serve(t, d);
  const bad = [
    'null', '[]', '"x"', '5', '{}', '{"op":"__proto__"}', '{"op":"constructor"}', '{"op":"toString"}', '{"op":"hasOwnProperty"}',
    '{"op":"addService","args":null}', '{"op":"addService","args":[null]}', '{"op":"addService","args":[]}',
    '{"op":"addService","args":[{"protocol":"tcp","addr":{"x":1},"port":80}]}', '{"op":"addService","args":[{"protocol":"tcp","addr":"10.0.0.2","port":80,"__proto__":{"fwmark":5}}]}',
    '{"op":"addDest","args":[{"fwmark":1},"x"]}', '{"op":"addDest","args":[null,null]}', '{"op":"deleteDest","args":[{"protocol":"tcp","addr":"10.0.0.1","port":80},{}]}',
    '{"op":"getService","args":[[]]}', '{"op":"zero","args":[5]}', '{"op":"setTimeouts","args":[{"tcp":"x"}]}', '{"op":"setTimeouts","args":[null]}',
    '{"op":"addDest","args":[{"protocol":"tcp","addr":"10.0.0.1","port":80},{"addr":"10.0.1.1","port":80,"method":"constructor"}]}',
    '{"op":"addService","args":[{"fwmark":4294967296}]}', '{"op":"listServices","args":[1]}', '{"id":{"a":1},"op":"info"}',
    '{"op":"info"', '\u00ff\u00fe{', '['.repeat(100000) + ']'.repeat(100000),
  ];
  const c = await raw(path);
  c.sock.write(bad.map((x) => x + '\n').join(''));
  const answers = await c.next(bad.length);
  t.equal(answers.length, bad.length, 'one answer per request');
  answers.forEach((line, i) => {
    const a = JSON.parse(line) as { ok: boolean; error?: { code: string; message: string } };
    t.equal(a.ok, false, `refused: ${bad[i]!.slice(0, 60)}`);
    t.match(a.error?.code, /^E[A-Z0-9]+$/, 'an errno-like code');
    t.notMatch(a.error?.message ?? '', /Cannot read|undefined|TypeError|ReferenceError|of null|is not a function|\bat \S+ \(/, `no JS internals: ${a.error?.message}`);
  });
  c.sock.write('{"id":9,"op":"listServices"}\n');
  t.match(JSON.parse((await c.next())[0]!), { id: 9, ok: true, result: [{ addr: '10.0.0.1', port: 80 }] }, 'still serving, table unchanged');
  t.equal(d.listServices().length, 1);
  c.sock.destroy();
});

t.test('-L -c on a full table is streamed in chunks; the event loop runs between them', async (t) => {
  const CAP = 16384;
  const { d, link } = director(CAP);
  const key = { protocol: 'udp' as const, addr: '10.10.0.100', port: 53 };
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: '10.10.1.11', port: 53, method: 'masq' });
  for (let i = 0; i < CAP; i++) {
    link.receive(packet().ipv4({ src: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, dst: key.addr }).udp({ sport: 1024 + (i % 60000), dport: 53 }).payload(new Uint8Array(4)).build());
    if ((i & 1023) === 1023) link.drain();
  }
  link.drain();
  t.equal(d.listConnections().length, CAP, 'table full');
  const { path } = await serve(t, d);
  const c = await ControlClient.connect(path);
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const conns = await c.listConnections();
  ticking = false;
  t.equal(conns.length, CAP, 'every entry arrives');
  t.match(conns[0], { protocol: 'UDP', virtualAddr: '10.10.0.100', destAddr: '10.10.1.11' });
  t.ok(turns > 10, `the event loop turned ${turns} times while the answer was produced`);
  c.close();
});
