/**
 * Saving the running rules into a keepalived.conf (no root): a Director loaded from the
 * file, changed through its control API (weights, a real server added and one removed, a
 * virtual server added and one removed, lb_algo and persistence_timeout), then the file
 * edited in place. The saved file, parsed again, gives the running table; comments,
 * includes and untouched lines are kept; changes that would touch an included file or a
 * ~SEQ/$PARAM line are refused with file:line; held-down real servers keep their block.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { destSpec, parseConfigFile, parseConfigText, serviceKeyOf, serviceSpecs } from '@tunvs/keepalived';
import type { KeepalivedConfig } from '@tunvs/keepalived';
import type { ServiceInfo } from '@tunvs/model';
import { applySave, combinePlans, proposeKeepalived, proposeKeepalivedFile } from '../src/index.js';

const CONF = `# tunvs lab: the web service
global_defs {
   router_id lab1   # the director
}

! the web farm
virtual_server 10.10.0.100 80 {
    delay_loop 2
    lb_algo wlc        # weighted least connections
    lb_kind NAT
    protocol TCP

    real_server 10.10.1.11 80 {
        weight 1       # small box
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.10.1.12 80 {
        weight 2
    }
    real_server 10.10.1.13 80 {
        weight 3
    }
}

# dns
virtual_server 10.10.0.100 53 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server 10.10.1.21 53 {
        weight 1
    }
}
include extra.conf
`;

const EXTRA = `virtual_server 10.10.0.101 443 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.10.1.31 443 {
        weight 1
    }
}
`;

function load(cfg: KeepalivedConfig): Director {
  const d = new Director({ links: [new MemoryLink('tap')], mac: new Uint8Array([2, 0, 0, 0, 0, 1]), addresses: [{ addr: '10.10.0.1', prefix: 16 }], timers: false });
  for (const vs of cfg.virtualServers) {
    for (const spec of serviceSpecs(vs, cfg)) {
      d.addService(spec);
      for (const rs of vs.realServers) d.addDest(serviceKeyOf(spec), destSpec(rs));
    }
  }
  return d;
}

/** A table as comparable text: services and their destinations, sorted. */
function table(list: ServiceInfo[] | KeepalivedConfig): string[] {
  if (!Array.isArray(list)) return table(load(list).listServices());
  return list
    .map((s) => `${s.fwmark ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`} ${s.scheduler} p${s.persistent} [${s.dests.map((d) => `${d.addr}:${d.port}/${d.method}/w${d.weight}`).sort().join(' ')}]`)
    .sort();
}

function dir(t: { teardown(fn: () => unknown): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'lco-kasave-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'keepalived.conf'), CONF);
  writeFileSync(join(d, 'extra.conf'), EXTRA);
  return d;
}

t.test('round trip: the saved file gives the running table, comments and include kept', async (t) => {
  const file = join(dir(t), 'keepalived.conf');
  const d = load(parseConfigFile(file).config);
  const web = { protocol: 'tcp' as const, addr: '10.10.0.100', port: 80 };
  const dns = { protocol: 'udp' as const, addr: '10.10.0.100', port: 53 };
  d.editDest(web, { addr: '10.10.1.11', port: 80, method: 'masq', weight: 5 });
  d.editDest(web, { addr: '10.10.1.13', port: 80, method: 'masq', weight: 0 });
  d.deleteDest(web, { addr: '10.10.1.12', port: 80 });
  d.addDest(web, { addr: '10.10.1.14', port: 80, method: 'masq', weight: 4 });
  d.editService({ ...web, scheduler: 'rr', persistent: 300 });
  d.deleteService(dns);
  d.addService({ fwmark: 7, scheduler: 'sh' });
  d.addDest({ fwmark: 7 }, { addr: '10.10.1.41', port: 0, method: 'route', weight: 2 });
  const running = d.listServices();
  const { current, proposed } = proposeKeepalivedFile(file, { running });
  t.not(proposed, current);
  for (const kept of ['# tunvs lab: the web service', '   router_id lab1   # the director', '! the web farm', '    lb_algo rr        # weighted least connections', '        weight 5       # small box', 'include extra.conf', '            connect_timeout 1']) {
    t.ok(proposed.split('\n').includes(kept), `kept: ${kept}`);
  }
  t.notMatch(proposed, /10\.10\.1\.12/, 'the removed real server block is gone');
  t.notMatch(proposed, /virtual_server 10\.10\.0\.100 53/, 'the removed virtual server block is gone');
  t.match(proposed, /    persistence_timeout 300\n/);
  t.match(proposed, /virtual_server fwmark 7 \{/);
  // only the lines that changed differ: the untouched part of the file is byte-identical
  t.equal(proposed.slice(0, proposed.indexOf('virtual_server 10.10.0.100 80')), current.slice(0, current.indexOf('virtual_server 10.10.0.100 80')));
  const again = parseConfigText(proposed, file);
  t.same(again.diagnostics.filter((x) => x.severity === 'error'), []);
  t.same(table(again.config), table(running), 'the saved file re-parsed gives the running table');
  // written atomically, then a second save has nothing to do
  const plan = combinePlans([{ file, current, proposed }]);
  t.match(plan.diff, /^-\s+weight 1\s+# small box$/m);
  t.match(plan.diff, /^\+\s+weight 5\s+# small box$/m);
  applySave(plan);
  t.same(table(parseConfigFile(file).config), table(running));
  t.equal(proposeKeepalivedFile(file, { running }).proposed, proposeKeepalivedFile(file, { running }).current, 'nothing left to save');
});

t.test('a change in an included file, a ~SEQ or a $PARAM line is refused with file:line', async (t) => {
  const base = dir(t);
  const file = join(base, 'keepalived.conf');
  const d = load(parseConfigFile(file).config);
  d.editDest({ protocol: 'tcp', addr: '10.10.0.101', port: 443 }, { addr: '10.10.1.31', port: 443, method: 'masq', weight: 9 });
  t.throws(() => proposeKeepalivedFile(file, { running: d.listServices() }), { name: 'SaveRefused', message: new RegExp(`^${join(base, 'extra.conf')}:1: .*included file`) });

  const seq = `$RS= \\
  real_server 10.10.1.\${n} 80 { \\
    weight 1 \\
  }
virtual_server 10.10.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ~SEQ(n, 1, 3) $RS
}
`;
  const c = parseConfigText(seq, '/x/k.conf').config;
  t.equal(c.virtualServers[0]!.realServers.length, 3);
  const d2 = load(c);
  d2.editDest({ protocol: 'tcp', addr: '10.10.0.100', port: 80 }, { addr: '10.10.1.2', port: 80, method: 'masq', weight: 3 });
  t.throws(() => proposeKeepalived('/x/k.conf', seq, { running: d2.listServices() }), { message: /^\/x\/k\.conf:9: .*(~SEQ|\$PARAM)/ });
  // an unrelated change in the same file still saves
  const d3 = load(c);
  d3.editService({ protocol: 'tcp', addr: '10.10.0.100', port: 80, scheduler: 'wlc' });
  t.match(proposeKeepalived('/x/k.conf', seq, { running: d3.listServices() }), /lb_algo wlc\n[^]*~SEQ\(n, 1, 3\) \$RS/);

  const param = `$W=7
virtual_server 10.10.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.10.1.11 80 {
        weight $W
    }
}
`;
  const d4 = load(parseConfigText(param, '/x/p.conf').config);
  d4.editDest({ protocol: 'tcp', addr: '10.10.0.100', port: 80 }, { addr: '10.10.1.11', port: 80, method: 'masq', weight: 2 });
  t.throws(() => proposeKeepalived('/x/p.conf', param, { running: d4.listServices() }), { message: /^\/x\/p\.conf:7: .*\$PARAM/ });
});

t.test('real servers held down by their checkers keep their block and weight', async (t) => {
  const file = join(dir(t), 'keepalived.conf');
  const d = load(parseConfigFile(file).config);
  const web = { protocol: 'tcp' as const, addr: '10.10.0.100', port: 80 };
  d.deleteDest(web, { addr: '10.10.1.11', port: 80 }); // its TCP_CHECK failed
  const down = new Set(['[10.10.0.100]:tcp:80|10.10.1.11:80']);
  const { current, proposed } = proposeKeepalivedFile(file, { running: d.listServices(), down });
  t.equal(proposed, current, 'nothing to save');
  d.editDest(web, { addr: '10.10.1.12', port: 80, method: 'masq', weight: 8 });
  const p2 = proposeKeepalivedFile(file, { running: d.listServices(), down }).proposed;
  t.match(p2, /real_server 10\.10\.1\.11 80 \{\n {8}weight 1 /);
  t.match(p2, /real_server 10\.10\.1\.12 80 \{\n {8}weight 8\n/);
});
