import t from 'tap';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openPcap, PcapError, pcapErrorCode } from '../src/index.js';

t.test('libpcap messages map to codes', (t) => {
  t.equal(pcapErrorCode("ttx0: You don't have permission to capture on that device (socket: Operation not permitted)"), 'EPERM');
  t.equal(pcapErrorCode('ttx0: No such device exists (SIOCGIFHWADDR: No such device)'), 'ENODEV');
  t.equal(pcapErrorCode('syntax error in filter expression'), 'EINVAL');
  t.equal(pcapErrorCode('send: Message too long'), 'EMSGSIZE');
  t.equal(pcapErrorCode('something else'), 'EIO');
  t.end();
});

t.test('bad interface names are refused before libpcap', (t) => {
  const err = t.throws(() => openPcap({ iface: 'x'.repeat(16) })) as PcapError;
  t.ok(err instanceof PcapError);
  t.equal(err.code, 'EINVAL');
  t.throws(() => openPcap({ iface: '' }), { code: 'EINVAL' });
  t.end();
});

t.test('a missing interface (or no privileges) is a PcapError naming it', (t) => {
  const err = t.throws(() => openPcap({ iface: 'ttnosuchif0', filter: 'udp' })) as PcapError;
  t.ok(err instanceof PcapError);
  // root: no such device; otherwise: no permission
  t.ok(err.code === 'ENODEV' || err.code === 'EPERM', err.code);
  t.match(err.message, /^pcap open on ttnosuchif0 failed: /);
  t.end();
});

// cap's object after a failed open must never reach its destructor (it stops a libuv poll
// handle it never set up): failed opens, then garbage collections, in a node of its own
t.test('failed opens survive the garbage collector', async (t) => {
  const dist = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../dist/index.js')).href;
  const script = [
    `const { openPcap } = await import(${JSON.stringify(dist)});`,
    'let failed = 0;',
    "for (let i = 0; i < 200; i++) { try { openPcap({ iface: 'ttnosuchif0', filter: 'udp' }); } catch { failed++; } }",
    'for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }',
    'console.log(failed);',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.signal, null, 'no signal (SIGSEGV, SIGABRT)');
  t.equal(r.status, 0, r.stderr.slice(-400));
  t.equal(r.stdout.trim(), '200', 'every open failed, as a PcapError');
});
