/**
 * tunvsd's keepalived checkers against real servers, in lka-* namespaces:
 *
 *   director (TUN ck0, tunvsd) 10.20.1.1 ── veth ── servers 10.20.1.2 (+ 10.20.1.3)
 *     exim4 on :25 (SMTP_CHECK, HELO)            dnsmasq on :53 (DNS_CHECK, type + name)
 *     udp-reply.mjs on :5005 (UDP_CHECK, payload + require_reply)
 *     10.20.1.3 answers ICMP echo (PING_CHECK)   a track_file (FILE_CHECK weight rules)
 *
 * For each: the server is in the pool, a stopped server leaves it, a restarted one comes
 * back; a checker that can never pass (wrong DNS type, wrong UDP reply) never puts its
 * server in the pool. delay_loop 1, connect_timeout 1, retry 0: a few seconds each.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, openLab, run } from '../src/netns.js';
import type { Child, Lab } from '../src/netns.js';
import { waitFor, TUNVSD, TUNVSADM } from '../fixtures/daemon-lab.js';

const EXIM = '/usr/sbin/exim4';
const DNSMASQ = '/usr/sbin/dnsmasq';
const missing = [EXIM, DNSMASQ, '/usr/bin/ping'].filter((p) => !existsSync(p));
const skip = !isRoot() ? 'needs root' : missing.length ? `missing ${missing.join(', ')} (scripts/bootstrap.sh installs them)` : false;

const RS = '10.20.1.2';
const PINGED = '10.20.1.3';
const VIP = '10.20.0.100';
// detection: next check within delay_loop, then connect_timeout; slack for a loaded machine
const BOUND_MS = 2_000 + 1_000 + 3_000;

function conf(trackFile: string): string {
  const common = `        connect_timeout 1\n        retry 0\n        delay_before_retry 1\n`;
  const vs = (port: number, proto: string, body: string, vip = VIP): string => `virtual_server ${vip} ${port} {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol ${proto}
${body}
}
`;
  return `track_file weights {
    file ${trackFile}
    weight 0
}
${vs(25, 'TCP', `    real_server ${RS} 25 {
        SMTP_CHECK {
            helo_name checker.lab.test
${common}        }
    }`)}
${vs(53, 'UDP', `    real_server ${RS} 53 {
        DNS_CHECK {
            type A
            name www.lab.test
${common}        }
    }`)}
${vs(53, 'UDP', `    real_server ${RS} 53 {
        DNS_CHECK {
            type SOA
            name www.lab.test
            alpha
${common}        }
    }`, '10.20.0.101')}
${vs(5005, 'UDP', `    real_server ${RS} 5005 {
        UDP_CHECK {
            payload 50 49 4e 47
            require_reply 50 4f 4e 4x
            min_reply_length 4
${common}        }
    }`)}
${vs(5005, 'UDP', `    real_server ${RS} 5005 {
        UDP_CHECK {
            payload 50 49 4e 47
            require_reply 5a
            alpha
${common}        }
    }`, '10.20.0.101')}
${vs(80, 'TCP', `    real_server ${PINGED} 80 {
        PING_CHECK {
${common}        }
    }`)}
${vs(81, 'TCP', `    real_server ${RS} 81 {
        weight 3
        FILE_CHECK {
            track_file weights
        }
    }
    real_server ${RS} 82 {
        weight 3
        FILE_CHECK {
            track_file weights
            weight 2
        }
    }
    real_server ${RS} 83 {
        weight 10
        FILE_CHECK {
            track_file weights
            weight 2 reverse
        }
    }`)}`;
}

/** `tunvsadm -L -n` as "VIP:port" → ("RS:port" → weight). */
function table(sock: string): Map<string, Map<string, number>> {
  const r = spawnSync(process.execPath, [TUNVSADM, '-L', '-n'], { encoding: 'utf8', env: { ...process.env, TUNVS_SOCKET: sock }, timeout: 10_000 });
  const out = new Map<string, Map<string, number>>();
  let cur: Map<string, number> | null = null;
  for (const line of (r.stdout ?? '').split('\n')) {
    const s = /^(TCP|UDP)\s+(\S+)/.exec(line);
    if (s) out.set(`${s[1]} ${s[2]}`, (cur = new Map()));
    const d = /^\s+->\s+(\S+)\s+\w+\s+(\d+)/.exec(line);
    if (d && cur) cur.set(d[1]!, Number(d[2]));
  }
  return out;
}

t.test('tunvsd runs SMTP, DNS, UDP, PING and FILE checks against real servers', { skip }, async (t) => {
  const lab: Lab = openLab(t, 'lka');
  const work = mkdtempSync(join(tmpdir(), 'lka-checkers-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('ckd');
  const srv = lab.netns('cks');
  lab.ip(dir, 'tuntap add dev ck0 mode tun');
  lab.ip(dir, 'link set ck0 up');
  lab.veth({ name: 'ck-rs', ns: dir, address: '10.20.1.1/24' }, { name: 'eth0', ns: srv, address: `${RS}/24` });
  lab.ip(srv, `addr add ${PINGED}/24 dev eth0`);

  const sock = join(work, 'tunvsd.sock');
  const tf = join(work, 'weights');
  writeFileSync(tf, '0\n');
  writeFileSync(join(work, 'keepalived.conf'), conf(tf));
  writeFileSync(join(work, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice ck0\nmode tun\ncontrol_socket ${sock}\n`);

  const procs = new Map<string, Child>();
  const start = async (name: string): Promise<void> => {
    let c: Child;
    if (name === 'exim') {
      c = lab.spawn(srv, EXIM, ['-bdf', '-oX', `${RS}.25`, '-oP', join(work, 'exim.pid')], 'exim');
      await waitFor(() => run('ip', ['netns', 'exec', srv, 'ss', '-ltn', `sport = :25`]).stdout.includes(`${RS}:25`), 5_000, 'exim listening');
    } else if (name === 'dnsmasq') {
      c = lab.spawn(srv, DNSMASQ, ['-k', '--conf-file=/dev/null', `--listen-address=${RS}`, '--bind-interfaces', '--no-resolv', '--no-hosts',
        '--local=/lab.test/', '--address=/www.lab.test/10.20.1.99', `--pid-file=${join(work, 'dnsmasq.pid')}`, '--user=root'], 'dnsmasq');
      await waitFor(() => run('ip', ['netns', 'exec', srv, 'ss', '-lun', `sport = :53`]).stdout.includes(`${RS}:53`), 5_000, 'dnsmasq listening');
    } else {
      c = lab.spawnNode(srv, 'fixtures/udp-reply.mjs', ['--addr', RS, '--port', '5005', '--expect', 'PING', '--reply', 'PONG']);
      await c.json((m) => m.ready === true);
    }
    procs.set(name, c);
  };
  const stop = async (name: string): Promise<void> => {
    const c = procs.get(name)!;
    procs.delete(name);
    c.proc.kill('SIGTERM');
    await c.wait(5_000);
  };
  for (const s of ['exim', 'dnsmasq', 'udp']) await start(s);

  const ct = spawnSync(process.execPath, [TUNVSD, '--config-test', '-f', join(work, 'tunvsd.conf')], { encoding: 'utf8' });
  t.equal(ct.status, 0, `--config-test accepts the checkers: ${ct.stderr}`);
  t.notMatch(ct.stderr, /not implemented/, 'no checker is reported as not implemented');

  const daemon = lab.spawn(dir, process.execPath, [TUNVSD, '-f', join(work, 'tunvsd.conf')], 'tunvsd');
  await waitFor(() => existsSync(sock) || daemon.exitCode !== null, 30_000, 'the tunvsd socket');
  t.equal(daemon.exitCode, null, `tunvsd runs: ${daemon.stderr}`);

  const weight = (vs: string, rs: string): number | undefined => table(sock).get(vs)?.get(rs);
  const inPool = (vs: string, rs: string): boolean => weight(vs, rs) !== undefined;
  const cycle = async (t: { pass(m: string): void }, vs: string, rs: string, down: () => Promise<void> | void, up: () => Promise<void> | void): Promise<void> => {
    await waitFor(() => inPool(vs, rs), BOUND_MS, `${rs} in ${vs}`);
    t.pass(`${rs} is in ${vs}`);
    const t0 = Date.now();
    await down();
    await waitFor(() => !inPool(vs, rs), BOUND_MS, `${rs} to leave ${vs}`);
    t.pass(`stopped: ${rs} left ${vs} after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await up();
    await waitFor(() => inPool(vs, rs), BOUND_MS + 2_000, `${rs} back in ${vs}`);
    t.pass(`restarted: ${rs} back in ${vs} after ${Date.now() - t1} ms`);
  };

  await t.test('SMTP_CHECK (exim4, HELO)', (t) => cycle(t, `TCP ${VIP}:25`, `${RS}:25`, () => stop('exim'), () => start('exim')));
  await t.test('DNS_CHECK (dnsmasq, type A, name www.lab.test)', async (t) => {
    await cycle(t, `UDP ${VIP}:53`, `${RS}:53`, () => stop('dnsmasq'), () => start('dnsmasq'));
    t.notOk(inPool('UDP 10.20.0.101:53', `${RS}:53`), 'type SOA for the same name (NXDOMAIN) never puts the server in the pool');
  });
  await t.test('UDP_CHECK (payload, require_reply with a wildcard nibble)', async (t) => {
    await cycle(t, `UDP ${VIP}:5005`, `${RS}:5005`, () => stop('udp'), () => start('udp'));
    t.notOk(inPool('UDP 10.20.0.101:5005', `${RS}:5005`), 'a reply that does not match require_reply never puts the server in the pool');
  });
  await t.test('PING_CHECK (ICMP echo)', (t) =>
    cycle(t, `TCP ${VIP}:80`, `${PINGED}:80`, () => void lab.ip(srv, `addr del ${PINGED}/24 dev eth0`), () => void lab.ip(srv, `addr add ${PINGED}/24 dev eth0`)),
  );
  await t.test('FILE_CHECK weight rules', async (t) => {
    const vs = `TCP ${VIP}:81`;
    const put = (v: string): void => {
      writeFileSync(`${tf}.new`, v);
      renameSync(`${tf}.new`, tf);
    };
    const state = (): string => {
      const m = table(sock).get(vs) ?? new Map<string, number>();
      return [81, 82, 83].map((p) => m.get(`${RS}:${p}`) ?? '-').join(' ');
    };
    await waitFor(() => state() === '3 3 10', BOUND_MS, 'value 0: weights 3 3 10');
    t.pass('value 0: every server at its weight');
    put('2\n');
    // weight 0: non-zero is down; weight 2: 3 + 2*2; weight 2 reverse: 10 - 2*2
    await waitFor(() => state() === '- 7 6', BOUND_MS, 'value 2: - 7 6');
    t.pass('value 2: weight-0 checker down, +4, -4 (reverse)');
    put('0x5\n');
    await waitFor(() => state() === '- 13 0', BOUND_MS, 'value 5 (hex): - 13 0');
    t.pass('value 0x5 read as strtol does: 3+10, max(0, 10-10)');
    rmSync(tf);
    await waitFor(() => state() === '3 3 10', BOUND_MS, 'deleted file reads 0');
    t.pass('a deleted file counts as 0: all back');
  });

  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.wait(5_000), 0, 'tunvsd exits 0 on SIGTERM');
  for (const s of [...procs.keys()]) await stop(s);
});
