/**
 * Property (issue 13 item 7): random tables, built through the control socket with values
 * tunvsadm can express (ipvsadm's own ranges: weights 0..65535) mixed with values the
 * kernel refuses (weight 2^40, fwmark 2^32, -1, 1.5, method "constructor"), survive
 * `-S` -> `-C` -> `-R` unchanged: the refused values never enter the table, `-R` exits 0,
 * and the second `-S` is identical to the first. Against the real Director.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import type { DestSpec, MethodName, ServiceSpec } from '@tunvs/model';
import { ControlClient, nullResolver, runTunvsadm, serveControl } from '../src/index.js';

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

const octet = fc.integer({ min: 1, max: 254 });
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }).filter((a) => a !== 127), octet, octet, octet).map((o) => o.join('.'));

const service: fc.Arbitrary<ServiceSpec> = fc
  .record({
    kind: fc.constantFrom('tcp', 'udp', 'fwmark'),
    addr: ipv4,
    port: fc.integer({ min: 0, max: 65535 }),
    fwmark: fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(2 ** 32, -1, 1.5, 2 ** 40)),
    scheduler: fc.constantFrom(...SCHEDULERS),
    flags: fc.subarray(['flag-1', 'flag-2', 'flag-3', 'fallback', 'port']),
    persistent: fc.option(fc.integer({ min: 1, max: 2678400 }), { nil: undefined }),
    netmask: fc.option(fc.constantFrom('255.255.255.0', '255.255.0.0', '255.255.255.255', '255.0.0.0'), { nil: undefined }),
    onePacket: fc.boolean(),
  })
  .map((r) => {
    const spec: ServiceSpec = r.kind === 'fwmark' ? { fwmark: r.fwmark } : { protocol: r.kind, addr: r.addr, port: r.port };
    spec.scheduler = r.scheduler;
    const flags = r.flags
      .map((f) => (f === 'fallback' || f === 'port' ? (r.scheduler === 'sh' || r.scheduler === 'mh' ? `${r.scheduler}-${f}` : null) : f))
      .filter((f): f is string => f !== null);
    if (flags.length) spec.schedFlags = flags;
    if (r.persistent !== undefined) spec.persistent = r.persistent;
    else if (spec.port === 0 && r.kind !== 'fwmark') spec.persistent = 360;
    if (r.netmask !== undefined && spec.persistent) spec.netmask = r.netmask;
    if (r.onePacket && r.kind !== 'tcp') spec.onePacket = true;
    return spec;
  });

const dest: fc.Arbitrary<DestSpec> = fc.record({
  addr: ipv4,
  port: fc.integer({ min: 0, max: 65535 }),
  method: fc.constantFrom<MethodName>('masq', 'route', 'tunnel', 'constructor' as MethodName),
  weight: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(2 ** 40, -1, 1.5, 2 ** 32)),
  upper: fc.integer({ min: 0, max: 100 }),
});

const table = fc.array(fc.tuple(service, fc.array(dest, { maxLength: 6 })), { maxLength: 8 });

async function adm(sock: string, argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => stdin,
    env: { TUNVS_SOCKET: sock },
    resolver: nullResolver,
  });
  return { code, out, err };
}

t.test('random tables: -S, -C, -R, -S gives the same rules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lha-rt-'));
  const sock = join(dir, 'ctl.sock');
  const d = new Director({ links: [new MemoryLink('tun')], timers: false, now: () => 10_000 });
  d.start();
  const server = serveControl(d, sock);
  await once(server, 'listening');
  const c = await ControlClient.connect(sock);
  t.teardown(() => {
    c.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let tables = 0;
  let rules = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(table, async (tbl) => {
      await c.clear();
      for (const [spec, dests] of tbl) {
        try {
          await c.addService(spec);
        } catch {
          refused++;
          continue; // refused, or the same service drawn twice
        }
        rules++;
        const key = spec.fwmark ? { fwmark: spec.fwmark } : { protocol: spec.protocol!, addr: spec.addr!, port: spec.port! };
        for (const x of dests) {
          // as ipvsadm: a DR/TUN server of an address service listens on the service port
          const port = !spec.fwmark && x.method !== 'masq' ? spec.port! : x.port;
          try {
            await c.addDest(key, { ...x, port, lower: 0 });
            rules++;
          } catch {
            refused++; // refused, or the same server drawn twice
          }
        }
      }
      tables++;
      const first = await adm(sock, ['-S', '-n']);
      if (first.code !== 0) throw new Error(`-S: ${first.err}`);
      if ((await adm(sock, ['-C'])).code !== 0) throw new Error('-C failed');
      const restore = await adm(sock, ['-R'], first.out);
      if (restore.code !== 0) throw new Error(`-R exited ${restore.code}: ${restore.err}\n${first.out}`);
      const second = await adm(sock, ['-S', '-n']);
      if (second.out !== first.out) throw new Error(`differs:\n${first.out}\n---\n${second.out}`);
      return true;
    }),
    { numRuns: 40 },
  );
  t.ok(tables === 40 && rules > 40, `${tables} tables, ${rules} rules round-tripped`);
  t.ok(refused > 0, `${refused} adds refused`);
  t.equal(d.listServices().every((s) => s.fwmark >= 0 && s.dests.every((x) => x.weight <= 65535)), true);
});
