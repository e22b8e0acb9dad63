// IFF_VNET_HDR + TUNSETOFFLOAD: a TCP stream between two namespaces passes through a JS
// forwarder joining two TUN devices. The kernel hands over GSO super-packets (larger than
// the MTU, gso_type TCPV4), the forwarder writes them to the other TUN unchanged, and the
// transfer completes with the right content.
import t from 'tap';
import { isRoot, openLab } from '../src/netns.js';

interface FwdStats {
  maxLen: number;
  gsoTcp4: number;
  gsoOverMtu: number;
  forwarded: number;
  notWritten: number;
  sample: { len: number; gsoType: number; gsoSize: number; hdrLen: number; flags: number } | null;
  a: { txErrors: number; txDropped: number };
  b: { txErrors: number; txDropped: number };
  aError: string | null;
  bError: string | null;
}

t.test('vnet header: GSO packets larger than the MTU cross the JS forwarder', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const fwdNs = lab.netns('vfwd');
  const cli = lab.netns('vcli');
  const srv = lab.netns('vsrv');
  const fwd = lab.spawnNode(fwdNs, 'fixtures/tuntap-forwarder.mjs', [JSON.stringify({ a: 'ttva0', b: 'ttvb0' })]);
  const ready = await fwd.json<{ vnetHdrLen: number; offloads: number; mtu: number }>((m) => m.ready === true);
  t.equal(ready.vnetHdrLen, 10, '10-byte virtio_net_hdr');
  t.ok((ready.offloads & 0x0f) === 0x0f, `CSUM|TSO4|TSO6|TSO_ECN accepted (offloads 0x${ready.offloads.toString(16)})`);

  // the fds stay with the forwarder; the devices move to the two end namespaces
  lab.ip(fwdNs, `link set ttva0 netns ${cli}`);
  lab.ip(fwdNs, `link set ttvb0 netns ${srv}`);
  lab.ip(cli, 'addr add 10.75.0.1/24 dev ttva0');
  lab.ip(cli, 'link set ttva0 up');
  lab.ip(srv, 'addr add 10.75.0.2/24 dev ttvb0');
  lab.ip(srv, 'link set ttvb0 up');
  t.match(lab.ip(cli, '-d link show dev ttva0'), /vnet_hdr on/, 'the device has a vnet header');

  // packets written while the far device was still down (IPv6 noise) fail with EIO: count from here
  const before = await fwd.request<FwdStats>({ op: 'stats' });
  const server = lab.spawnNode(srv, 'fixtures/tcp-transfer.mjs', ['server', '5201']);
  await server.json((m) => m.listening === true);
  const bytes = 32 * 1024 * 1024;
  const client = lab.spawnNode(cli, 'fixtures/tcp-transfer.mjs', ['client', '10.75.0.2', '5201', String(bytes)]);
  const sent = await client.json<{ sent: number; sum: number; mbit: number }>((m) => 'sent' in m || 'error' in m, 30_000);
  const got = await server.json<{ received: number; sum: number }>((m) => 'received' in m, 10_000);
  t.equal(sent.sent, bytes, `client sent ${bytes} bytes (${sent.mbit} Mbit/s)`);
  t.equal(got.received, bytes, 'server received every byte');
  t.equal(got.sum, sent.sum, 'content matches');

  const st = await fwd.request<FwdStats>({ op: 'stats' });
  t.ok(st.gsoOverMtu > 0, `${st.gsoOverMtu} TCPV4 GSO packets larger than the MTU ${ready.mtu} (largest ${st.maxLen} bytes)`);
  t.ok(st.maxLen > ready.mtu, 'a packet larger than the MTU arrived');
  t.ok(st.sample && st.sample.gsoSize > 0 && st.sample.gsoSize <= ready.mtu - 40, `gso_size is an MSS (${st.sample?.gsoSize})`);
  t.ok(st.sample && st.sample.flags & 1, 'NEEDS_CSUM set on the GSO packet');
  const failed = (s: FwdStats): number => s.a.txErrors + s.b.txErrors + s.a.txDropped + s.b.txDropped;
  t.equal(st.notWritten - before.notWritten, 0, `every packet was written to the other TUN (${st.aError} ${st.bError})`);
  t.equal(failed(st) - failed(before), 0, 'no write errors or drops during the transfer');
  t.equal(await fwd.stop(), 0);
});
