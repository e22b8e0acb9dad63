// The control API's value rules (issue 13 item 7): what the kernel refuses is refused, with
// its errno and ipvsadm's words, and nothing is looked up through an object's prototype.
import t from 'tap';
import type { Test } from 'tap';
import {
  ControlError,
  InvalidValue,
  Limits,
  Service,
  Dest,
  checkDestKey,
  checkDestSpec,
  checkFwmark,
  checkServiceKey,
  checkServiceSpec,
  checkTimeouts,
  isUnicastIpv4,
  ipv4Octets,
} from '../src/index.js';

function refused(t: Test, fn: () => unknown, code: string, message: RegExp | string, field?: string): void {
  try {
    fn();
    t.fail(`accepted, expected ${code}`);
  } catch (e) {
    t.ok(e instanceof ControlError, 'a ControlError');
    t.ok(e instanceof InvalidValue, 'an InvalidValue');
    t.equal((e as ControlError).code, code);
    if (typeof message === 'string') t.equal((e as Error).message, message);
    else t.match((e as Error).message, message);
    if (field !== undefined) t.equal((e as InvalidValue).field, field);
  }
}

const SVC = { protocol: 'tcp', addr: '10.0.0.1', port: 80 } as const;

t.test('fwmark: an integer 1..2^32-1', async (t) => {
  t.equal(checkFwmark(1, 'x'), 1);
  t.equal(checkFwmark(0xffffffff, 'x'), 0xffffffff);
  for (const v of [2 ** 32, -1, 1.5, '5', null, NaN, Infinity, 1e300]) {
    refused(t, () => checkServiceSpec({ fwmark: v }, 'addService'), 'EINVAL', `invalid fwmark value \`${typeof v === 'string' ? v : JSON.stringify(v)}' specified`, 'fwmark');
  }
  t.same(checkServiceKey({ fwmark: 7 }, 'deleteService'), { fwmark: 7 });
  refused(t, () => checkServiceSpec({ fwmark: 7, addr: '10.0.0.1' }, 'addService'), 'EINVAL', /has no addr/);
});

t.test('weight: an integer 0..INT_MAX, negative and too large are ERANGE', async (t) => {
  t.equal(checkDestSpec({ addr: '10.0.1.1', port: 80, weight: 0 }, 'addDest').weight, 0);
  t.equal(checkDestSpec({ addr: '10.0.1.1', port: 80, weight: Limits.INT_MAX }, 'addDest').weight, Limits.INT_MAX);
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, weight: -1 }, 'addDest'), 'ERANGE', 'illegal weight specified', 'weight');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, weight: 1099511627776 }, 'addDest'), 'ERANGE', 'illegal weight specified');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, weight: 1.5 }, 'addDest'), 'EINVAL', 'illegal weight specified');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, weight: '3' }, 'addDest'), 'EINVAL', 'illegal weight specified');
});

t.test('thresholds and ports: integers in range; lower above upper is ERANGE even with upper 0', async (t) => {
  t.match(checkDestSpec({ addr: '10.0.1.1', port: 80, upper: 10, lower: 5 }, 'addDest'), { upper: 10, lower: 5 });
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, upper: -1 }, 'addDest'), 'EINVAL', 'illegal u_threshold specified', 'upper');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, upper: 2 ** 31 }, 'addDest'), 'EINVAL', 'illegal u_threshold specified');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, lower: 0.5 }, 'addDest'), 'EINVAL', 'illegal l_threshold specified');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, upper: 3, lower: 4 }, 'addDest'), 'ERANGE', /lower threshold/);
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, lower: 4 }, 'addDest'), 'ERANGE', /lower threshold/);
  for (const port of [-1, 65536, 1.5, '80', null]) {
    refused(t, () => checkServiceSpec({ ...SVC, port }, 'addService'), 'EINVAL', 'illegal virtual server address[:port] specified', 'port');
    refused(t, () => checkDestSpec({ addr: '10.0.1.1', port }, 'addDest'), 'EINVAL', 'illegal real server address[:port] specified', 'port');
  }
  refused(t, () => checkServiceSpec({ ...SVC, port: 0 }, 'addService'), 'EINVAL', 'Zero port specified for non-persistent service');
  t.same(checkServiceSpec({ ...SVC, port: 0, persistent: 360 }, 'addService'), { ...SVC, port: 0, persistent: 360 });
});

t.test('methods, scheduler flags, schedulers: closed sets, never the prototype', async (t) => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'MASQ', '']) {
    refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, method: name }, 'addDest'), 'EINVAL', /unknown forwarding method/, 'method');
    refused(t, () => checkServiceSpec({ ...SVC, schedFlags: [name] }, 'addService'), 'EINVAL', `invalid scheduler flag \`${name}'`, 'schedFlags[0]');
  }
  // a JSON request can carry an own "__proto__" key: it is an unknown field, not a prototype
  const withProto = JSON.parse('{"addr":"10.0.1.1","port":80,"__proto__":{"method":"masq"}}') as unknown;
  refused(t, () => checkDestSpec(withProto, 'addDest'), 'EINVAL', /unknown field '__proto__'/);
  refused(t, () => checkServiceSpec({ ...SVC, scheduler: 'sh', schedFlags: ['mh-port'] }, 'addService'), 'EINVAL', "incompatible scheduler flag `mh-port'");
  t.same(checkServiceSpec({ ...SVC, scheduler: 'mh', schedFlags: ['mh-port', 'flag-3'] }, 'addService').schedFlags, ['mh-port', 'flag-3']);
  refused(t, () => checkServiceSpec({ ...SVC, scheduler: 'averyveryverylongname' }, 'addService'), 'EINVAL', /invalid scheduler name/);
  refused(t, () => checkServiceSpec({ ...SVC, scheduler: 5 }, 'addService'), 'EINVAL', /invalid scheduler name/);
  refused(t, () => checkServiceSpec({ ...SVC, wieght: 1 }, 'addService'), 'EINVAL', "unknown field 'wieght' in service");
  refused(t, () => checkServiceSpec(null, 'addService'), 'EINVAL', 'service must be an object, not null');
  refused(t, () => checkDestSpec([], 'addDest'), 'EINVAL', 'destination must be an object, not []');
});

t.test('destinations: unicast only, as ip_vs_new_dest requires', async (t) => {
  for (const addr of ['0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.255', '255.255.255.255']) {
    refused(t, () => checkDestSpec({ addr, port: 80 }, 'addDest'), 'EINVAL', /unicast/, 'addr');
  }
  for (const addr of ['10.0.0.1', '127.0.0.1', '240.0.0.1', '255.255.255.254', '1.1.1.1']) t.ok(isUnicastIpv4(ipv4Octets(addr)!), addr);
  for (const addr of ['10.0.0', '10.0.0.256', '010.0.0.1', ' 10.0.0.1', '10.0.0.1/32', 7]) {
    refused(t, () => checkDestSpec({ addr, port: 80 }, 'addDest'), 'EINVAL', 'illegal real server address[:port] specified');
  }
  refused(t, () => checkDestSpec({ addr: '2001:db8::1', port: 80 }, 'addDest'), 'EAFNOSUPPORT', /IPv6/);
  t.same(checkServiceKey({ protocol: 'sctp', addr: '10.0.0.1', port: 80 }, 'getService'), { protocol: 'sctp', addr: '10.0.0.1', port: 80 }, 'SCTP services are accepted');
  t.same(checkDestKey({ addr: '10.0.1.1', port: 0 }, 'deleteDest'), { addr: '10.0.1.1', port: 0 });
});

t.test('tunnels: ipip, gue, gre with the options each allows; tunnel options need -i', async (t) => {
  t.same(checkDestSpec({ addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'ipip' }, 'addDest'), { addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'ipip' });
  const gue = { addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'gue', tunPort: 6080, tunFlags: 'remcsum' } as const;
  t.same(checkDestSpec(gue, 'addDest'), gue);
  const gre = { addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'gre', tunFlags: 'csum' } as const;
  t.same(checkDestSpec(gre, 'addDest'), gre);
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'gue' }, 'addDest'), 'EINVAL', "You need to supply the 'tun-port' option for the 'gue' tunnel type");
  refused(t, () => checkDestSpec({ ...gue, tunPort: 0 }, 'addDest'), 'EINVAL', "You need to supply the 'tun-port' option for the 'gue' tunnel type");
  refused(t, () => checkDestSpec({ ...gue, tunPort: 70000 }, 'addDest'), 'EINVAL', 'illegal tunnel port specified');
  refused(t, () => checkDestSpec({ ...gre, tunFlags: 'remcsum' }, 'addDest'), 'EINVAL', "Illegal 'tun-remcsum' option with the 'gre' tunnel type");
  refused(t, () => checkDestSpec({ ...gre, tunPort: 6080 }, 'addDest'), 'EINVAL', "Illegal 'tun-port' option with the 'gre' tunnel type");
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, method: 'tunnel', tunFlags: 'csum' }, 'addDest'), 'EINVAL', "Illegal 'tun-csum' option with the 'ipip' tunnel type");
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, method: 'masq', tunType: 'ipip' }, 'addDest'), 'EINVAL', 'Tunnel options conflict with forward method');
  refused(t, () => checkDestSpec({ addr: '10.0.1.1', port: 80, method: 'tunnel', tunType: 'vxlan' }, 'addDest'), 'EINVAL', 'illegal tunnel type specified');
});

t.test('timeouts: integers 0..INT_MAX/HZ as ip_vs_set_timeout checks', async (t) => {
  t.same(checkTimeouts({ tcp: 900, tcpfin: 0, udp: Limits.TIMEOUT_MAX }, 'setTimeouts'), { tcp: 900, tcpfin: 0, udp: Limits.TIMEOUT_MAX });
  for (const v of [-1, 'x', 1e300, 1.5, Limits.TIMEOUT_MAX + 1, null]) {
    refused(t, () => checkTimeouts({ tcp: v }, 'setTimeouts'), 'EINVAL', /^invalid timeout value `.*' specified$/, 'tcp');
  }
  refused(t, () => checkTimeouts({ tcp_fin: 5 }, 'setTimeouts'), 'EINVAL', "unknown field 'tcp_fin' in timeouts");
  refused(t, () => checkTimeouts(7, 'setTimeouts'), 'EINVAL', 'timeouts must be an object, not 7');
});

t.test('adding, finding and removing destinations in a service keeps the kernel order', async (t) => {
  const svc = new Service({ protocol: 6, addr: 1, port: 80 });
  const ds = Array.from({ length: 5 }, (_, i) => new Dest(100 + i, 80));
  for (const d of ds) svc.insertDest(d);
  t.same(svc.dests, [...ds].reverse(), 'the last added first');
  t.equal(svc.removeDest(ds[2]!), true);
  t.equal(svc.findDest(102, 80), undefined);
  t.equal(svc.findDest(103, 80), ds[3]);
  svc.insertDest(ds[2]!);
  t.same(svc.dests, [ds[2], ds[4], ds[3], ds[1], ds[0]], 're-added goes to the head');
  const view = svc.dests;
  t.equal(svc.dests, view, 'the same array while nothing changes');
});
