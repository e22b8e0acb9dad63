// ipvsadm 1.31 command-line parsing: every validation message and exit status, one by one
// (table-driven), and the commands good command lines turn into.
import t from 'tap';
import { parseArgs, tableResolver, UsageError, VERSION_LINE, type Command } from '../src/index.js';

const V = 'add-service';
const TRY = "Try `tunvsadm -h' or 'tunvsadm --help' for more information.\n";
const S = ['-t', '1.2.3.4:80'];
const R = ['-r', '10.0.0.1'];

// [argv, exact stderr text, exit status]
const ERRORS: [string[], string, number][] = [
  [['-t', '1.2.3.4:80'], TRY, 255],
  [['foo'], TRY, 255],
  [['--bogus', '-L'], TRY, 255],
  [['-A', '-L'], "invalid option `-L'\n", 2],
  [['-AL'], "invalid option `-AL'\n", 2],
  [['-A', ...S, '-h'], "invalid option `-h'\n", 2],
  [['-L', '--bogus'], '--bogus: unknown option\n', 255],
  [['-L', '-q'], '-q: unknown option\n', 255],
  [['-A', '-t'], '-t: missing argument\n', 255],
  // tunvsadm's own options, left without their value (runTunvsadm takes them when they have one)
  [['-L', '-n', '--socket'], '--socket: missing argument\n', 255],
  [['-L', '--socket-timeout'], '--socket-timeout: missing argument\n', 255],
  [['-L', '--socketx'], '--socketx: unknown option\n', 255],
  [['-L', '--stats=1'], '--stats=1: option does not take an argument\n', 255],
  [['-A', ...S, '-t', '1.2.3.4:81'], "multiple 'service-address' options specified\n", 2],
  [['-A', ...S, '-f', '3'], "multiple 'service-address' options specified\n", 2],
  [['-A', ...S, '-s', 'rr', '-s', 'wlc'], "multiple 'scheduler' options specified\n", 2],
  [['-a', ...S, ...R, '-m', '-g'], "multiple 'forwarding-method' options specified\n", 2],
  [['-L', '-n', '-n'], "multiple 'numeric' options specified\n", 2],
  [['-A', '-t', '12345'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-t', ''], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-t', '1.2.3.4:99999'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-t', '1.2.3.4:nosuchport'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-t', 'no-such-host:80'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-t', '[::1]80'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-u', '1.2.3.256:53'], 'illegal virtual server address[:port] specified\n', 2],
  [['-A', '-f', '0'], "invalid fwmark value `0' specified\n", 2],
  [['-A', '-f', 'abc'], "invalid fwmark value `abc' specified\n", 2],
  [['-A', '-f', '4294967296'], "invalid fwmark value `4294967296' specified\n", 2],
  [['-A', ...S, '-p', '0'], "invalid timeout value `0' specified\n", 2],
  [['-A', ...S, '-p', '2678401'], "invalid timeout value `2678401' specified\n", 2],
  [['-A', ...S, '-p', '12x'], "invalid timeout value `12x' specified\n", 2],
  [['-A', ...S, '-M', 'bogus'], 'illegal virtual server persistent mask specified\n', 2],
  [['-A', '-t', '[2001:db8::1]:80', '-p', '-M', '200'], 'illegal ipv6 netmask specified\n', 2],
  [['-A', '-t', '[2001:db8::1]:80', '-p', '-M', 'x'], 'illegal ipv6 netmask specified\n', 2],
  [['-a', ...S, '-r', 'x..y'], 'illegal real server address[:port] specified\n', 2],
  [['-a', ...S, '-r', '10.0.0.1:70000'], 'illegal real server address[:port] specified\n', 2],
  [['-a', ...S, ...R, '-w', '65536'], 'illegal weight specified\n', 2],
  [['-a', ...S, ...R, '-w', '-1'], 'illegal weight specified\n', 2],
  [['-a', ...S, ...R, '-w', 'ten'], 'illegal weight specified\n', 2],
  [['-a', ...S, ...R, '-x', '2147483648'], 'illegal u_threshold specified\n', 2],
  [['-a', ...S, ...R, '-y', 'abc'], 'illegal l_threshold specified\n', 2],
  [['-A', ...S, '-6'], '-6 used before -f\n\n', 2],
  [['-A', '-6', '-f', '1'], '-6 used before -f\n\n', 2],
  [['-A', ...S, '-b', 'sh-port'], "incompatible scheduler flag `sh-port'\n", 2],
  [['-A', ...S, '-s', 'sh', '-b', 'mh-fallback'], "incompatible scheduler flag `mh-fallback'\n", 2],
  [['-A', ...S, '-s', 'sh', '-b', 'sh-port,foo'], "invalid scheduler flag `foo'\n", 2],
  [['-L', '-b', 'foo'], "invalid scheduler flag `foo'\n", 2],
  [['--set', '1', '2'], '--set option requires 3 timeout values\n', 2],
  [['--set', '1', '2', 'x'], "invalid timeout value `x' specified\n", 2],
  [['--set', '1', '2', '2678401'], "invalid timeout value `2678401' specified\n", 2],
  [['--set', '1', '2', '3', '4'], 'unexpected argument 4\n', 2],
  [['-L', 'foo'], 'unexpected argument foo\n', 2],
  [['-C', '--', '-x'], 'unexpected argument -x\n', 2],
  [['-A'], `You need to supply the 'service-address' option for the '${V}' command\n`, 2],
  [['-E', '-s', 'rr'], "You need to supply the 'service-address' option for the 'edit-service' command\n", 2],
  [['-D'], "You need to supply the 'service-address' option for the 'delete-service' command\n", 2],
  [['-a', ...S], "You need to supply the 'real-server' option for the 'add-server' command\n", 2],
  [['-d', ...S], "You need to supply the 'real-server' option for the 'delete-server' command\n", 2],
  [['-e', ...R], "You need to supply the 'service-address' option for the 'edit-server' command\n", 2],
  [['-A', ...S, ...R], `Illegal 'real-server' option with the '${V}' command\n`, 2],
  [['-A', ...S, '-w', '1'], `Illegal 'weight' option with the '${V}' command\n`, 2],
  [['-A', ...S, '-n'], `Illegal 'numeric' option with the '${V}' command\n`, 2],
  [['-E', ...S, ...R], "Illegal 'real-server' option with the 'edit-service' command\n", 2],
  [['-D', ...S, '-s', 'rr'], "Illegal 'scheduler' option with the 'delete-service' command\n", 2],
  [['-C', '-n'], "Illegal 'numeric' option with the 'flush' command\n", 2],
  [['-C', ...S], "Illegal 'service-address' option with the 'flush' command\n", 2],
  [['-R', '-n'], "Illegal 'numeric' option with the 'restore' command\n", 2],
  [['-S', '-c'], "Illegal 'connection' option with the 'save' command\n", 2],
  [['-S', ...S], "Illegal 'service-address' option with the 'save' command\n", 2],
  [['-Z', ...S, ...R], "Illegal 'real-server' option with the 'zero' command\n", 2],
  [['-Z', '-n'], "Illegal 'numeric' option with the 'zero' command\n", 2],
  [['--set', '1', '2', '3', '-n'], "Illegal 'numeric' option with the 'set' command\n", 2],
  [['-d', ...S, ...R, '-w', '1'], "Illegal 'weight' option with the 'delete-server' command\n", 2],
  [['-a', ...S, ...R, '-s', 'rr'], "Illegal 'scheduler' option with the 'add-server' command\n", 2],
  [['-a', ...S, ...R, '-o'], "Illegal 'ops' option with the 'add-server' command\n", 2],
  [['-a', ...S, ...R, '--tun-info'], "Illegal 'tun-info' option with the 'add-server' command\n", 2],
  [['-L', '-s', 'rr'], "Illegal 'scheduler' option with the 'list' command\n", 2],
  [['-L', '--mcast-interface', 'eth0'], "Illegal 'mcast-interface' option with the 'list' command\n", 2],
  [['-L', '-c', '--timeout'], "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n", 2],
  [['-L', ...S, '-c'], "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n", 2],
  [['-L', '--timeout', '--daemon'], "The option 'daemon' conflicts with the 'timeout' option in the 'list' command\n", 2],
  [['-L', '-c', '--stats'], 'options conflicts in the list command\n', 2],
  [['-L', '--daemon', '--thresholds'], 'options conflicts in the list command\n', 2],
  [['-L', '--timeout', '--persistent-conn'], 'options conflicts in the list command\n', 2],
  [['-L', '--syncid', '300'], 'illegal syncid specified\n', 2],
  [['-A', '-t', '1.2.3.4:0'], 'Zero port specified for non-persistent service\n', 2],
  [['-A', '-t', '1.2.3.4'], 'Zero port specified for non-persistent service\n', 2],
  [['-E', '-u', '1.2.3.4'], 'Zero port specified for non-persistent service\n', 2],
  [['-A', ...S, '-o'], 'One-Packet Scheduling is only for UDP virtual services\n', 2],
  [['-a', ...S, '-r', '[2001:db8::1]:80', '-m'], 'Different address family is allowed only for tunneling servers\n', 2],
  [['-a', ...S, ...R, '-m', '--tun-type', 'gue'], 'Tunnel options conflict with forward method\n', 2],
  [['-a', ...S, ...R, '--tun-csum'], 'Tunnel options conflict with forward method\n', 2],
  [['-a', ...S, ...R, '-i', '--tun-type', 'gue'], "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2],
  [['-a', ...S, ...R, '-i', '--tun-port', '80'], "Illegal 'tun-port' option with the 'ipip' tunnel type\n", 2],
  [['-a', ...S, ...R, '-i', '--tun-csum'], "Illegal 'tun-csum' option with the 'ipip' tunnel type\n", 2],
  [['-a', ...S, ...R, '-i', '--tun-type', 'gre', '--tun-remcsum'], "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n", 2],
  [
    ['-a', ...S, ...R, '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum', '--tun-remcsum'],
    "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type\n",
    2,
  ],
  [['-a', ...S, ...R, '-i', '--tun-type', 'vxlan'], 'illegal tunnel type specified\n', 2],
  [['-a', ...S, ...R, '-i', '--tun-type', 'gue', '--tun-port', '0'], 'illegal tunnel port specified\n', 2],
  [['--start-daemon', 'foo'], 'illegal start-daemon parameter specified\n', 2],
  [['--stop-daemon', 'foo'], 'illegal start_daemon specified\n', 2],
  [['--start-daemon', 'master', '--mcast-port', '0'], 'illegal mcast-port specified\n', 2],
  [['--start-daemon', 'master', '--mcast-group', '10.0.0.1'], "invalid IPv4 mcast-group `10.0.0.1'\n", 2],
  [['--start-daemon', 'master', ...S], "Illegal 'service-address' option with the 'start-daemon' command\n", 2],
];

t.test('--start-daemon / --stop-daemon: the daemon settings, with ipvsadm\'s defaults', async (t) => {
  t.same(parseArgs(['--start-daemon', 'master']), { cmd: 'startDaemon', role: 'master', config: { ifname: 'eth0', syncid: 0 } });
  t.same(
    parseArgs(['--start-daemon', 'backup', '--mcast-interface', 'eth1', '--syncid', '7', '--sync-maxlen', '1400', '--mcast-group', '239.1.1.1', '--mcast-port', '9000', '--mcast-ttl', '3']),
    { cmd: 'startDaemon', role: 'backup', config: { ifname: 'eth1', syncid: 7, maxlen: 1400, group: '239.1.1.1', port: 9000, ttl: 3 } },
  );
  t.same(parseArgs(['--stop-daemon', 'backup']), { cmd: 'stopDaemon', role: 'backup' });
});

t.test('every bad command line: exact message and exit status', async (t) => {
  for (const [argv, text, code] of ERRORS) {
    const r = parseArgs(argv);
    if (!(r instanceof UsageError)) {
      t.fail(`${argv.join(' ')}: accepted as ${JSON.stringify(r)}`);
      continue;
    }
    t.equal(r.text, text, argv.join(' '));
    t.equal(r.exitCode, code, `${argv.join(' ')} exit`);
  }
});

t.test('popt errors after the command do not abort a restore; validation errors do', async (t) => {
  t.equal((parseArgs(['-L', '--bogus']) as UsageError).abort, false);
  // an unknown scheduler is the daemon's to refuse, after it looked the service up (EEXIST first)
  t.match(parseArgs(['-A', ...S, '-s', 'bogus']), { cmd: 'addService', spec: { scheduler: 'bogus' } });
  t.equal((parseArgs(['-A', '-t', '12345']) as UsageError).abort, true);
  t.equal((parseArgs(['-R'], { readingStdin: true }) as UsageError).text, TRY);
});

const ok = (argv: string[], opts = {}): Command => {
  const r = parseArgs(argv, opts);
  if (r instanceof UsageError) throw new Error(`${argv.join(' ')}: ${r.text}`);
  return r;
};

t.test('the LVS HOWTO commands', async (t) => {
  t.same(ok(['-A', '-t', '10.0.0.100:80', '-s', 'wlc']), {
    cmd: 'addService',
    spec: { protocol: 'tcp', addr: '10.0.0.100', port: 80, scheduler: 'wlc', schedFlags: [], persistent: 0, netmask: '255.255.255.255', onePacket: false },
  });
  t.same(ok(['-a', '-t', '10.0.0.100:80', '-r', '10.0.1.1:80', '-m', '-w', '2']), {
    cmd: 'addDest',
    key: { protocol: 'tcp', addr: '10.0.0.100', port: 80 },
    dest: { addr: '10.0.1.1', port: 80, method: 'masq', weight: 2, upper: 0, lower: 0 },
  });
  t.same(ok(['-L', '-n']), { cmd: 'list', target: 'all', format: { numeric: true, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false, nosort: false, exact: false } });
});

t.test('defaults and ipvsadm quirks', async (t) => {
  // no arguments = -L with names
  t.match(ok([]), { cmd: 'list', target: 'all', format: { numeric: false } });
  // clustered short options, long options with = and separate values
  t.match(ok(['-Ln', '--stats', '--exact']), { cmd: 'list', format: { numeric: true, stats: true, exact: true } });
  t.match(ok(['-lnc']), { cmd: 'list', target: 'connections' });
  t.match(ok(['--add-service', '--tcp-service=10.0.0.1:80', '--scheduler', 'rr']), { cmd: 'addService', spec: { scheduler: 'rr', port: 80 } });
  t.match(ok(['-At10.0.0.1:80']), { cmd: 'addService', spec: { addr: '10.0.0.1', port: 80 } });
  // -E without -s resets the scheduler to wlc
  t.match(ok(['-E', '-t', '10.0.0.1:80']), { cmd: 'editService', spec: { scheduler: 'wlc' } });
  // -p with and without a value; a following option is not its value
  t.match(ok(['-A', '-t', '10.0.0.1:80', '-p']), { spec: { persistent: 360 } });
  t.match(ok(['-A', '-t', '10.0.0.1:80', '-p', '-s', 'rr']), { spec: { persistent: 360, scheduler: 'rr' } });
  t.match(ok(['-A', '-t', '10.0.0.1:80', '-p', '600', '-M', '255.255.255.0']), { spec: { persistent: 600, netmask: '255.255.255.0' } });
  t.match(ok(['-A', '-t', '10.0.0.1:80', '--persistent=60']), { spec: { persistent: 60 } });
  // inet_aton forms
  t.match(ok(['-A', '-t', '10.1:80']), { spec: { addr: '10.0.0.1' } });
  t.match(ok(['-A', '-t', '10.0.0.1:80', '-p', '-M', '24']), { spec: { netmask: '0.0.0.24' } });
  // port 0 is fine when persistent; OPS on UDP and fwmark
  t.match(ok(['-A', '-u', '10.0.0.1:0', '-p', '-o']), { spec: { protocol: 'udp', port: 0, onePacket: true } });
  t.match(ok(['-A', '-f', '7', '-o']), { spec: { fwmark: 7, onePacket: true } });
  // fwmark IPv6 and scheduler flags as the model names them
  t.match(ok(['-A', '-f', '5', '-6', '-s', 'sh', '-b', 'sh-port,sh-fallback']), {
    spec: { fwmark: 5, ipv6: true, netmask: '128', schedFlags: ['sh-fallback', 'sh-port'] },
  });
  t.match(ok(['-A', '-t', '[2001:db8:0:0::1]:443', '-s', 'mh', '-b', 'mh-port']), {
    spec: { addr: '2001:db8::1', port: 443, netmask: '128', schedFlags: ['mh-port'] },
  });
  t.match(ok(['-A', '-t', '10.0.0.1:80', '-b', 'flag-1,flag-3']), { spec: { schedFlags: ['flag-1', 'flag-3'] } });
  // real server port: copied from the service when absent, forced for -g/-i, kept for -m
  t.match(ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1']), { dest: { port: 80, method: 'route', weight: 1 } });
  t.match(ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1:8080']), { dest: { port: 80 } });
  t.match(ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1:8080', '-i']), { dest: { port: 80, method: 'tunnel', tunType: 'ipip' } });
  t.match(ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1:8080', '-m']), { dest: { port: 8080, method: 'masq' } });
  t.match(ok(['-a', '-f', '1', '-r', '10.0.1.1:8080', '-g']), { key: { fwmark: 1 }, dest: { port: 8080 } });
  t.match(ok(['-e', '-t', '10.0.0.1:80', '-r', '10.0.1.1', '-w', '0', '-x', '100', '-y', '50']), {
    cmd: 'editDest', dest: { weight: 0, upper: 100, lower: 50 },
  });
  t.match(ok(['-a', ...S, '-r', '2001:db8::9', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum']), {
    dest: { addr: '2001:db8::9', port: 80, method: 'tunnel', tunType: 'gue', tunPort: 6080, tunFlags: 'csum' },
  });
  // the bracket form needs ':port' after ']'
  t.type(parseArgs(['-a', ...S, '-r', '[2001:db8::9]', '-i']), UsageError);
  t.match(ok(['-d', '-t', '10.0.0.1:80', '-r', '10.0.1.1:80']), { cmd: 'deleteDest', dest: { addr: '10.0.1.1', port: 80 } });
  t.match(ok(['-D', '-u', '10.0.0.1:53']), { cmd: 'deleteService', key: { protocol: 'udp', port: 53 } });
  t.same(ok(['-Z']), { cmd: 'zero' });
  t.match(ok(['-Z', '-f', '3']), { cmd: 'zero', key: { fwmark: 3 } });
  t.same(ok(['--set', '0', '0', '30']), { cmd: 'setTimeouts', timeouts: { tcp: 0, tcpfin: 0, udp: 30 } });
  t.match(ok(['-L', '--timeout']), { target: 'timeout' });
  t.match(ok(['-L', '--daemon']), { target: 'daemon' });
  t.match(ok(['-L', '-t', '10.0.0.1:80', '--stats', '--sort', '--syncid', '3']), { target: 'service', service: { port: 80 } });
  t.match(ok(['-S', '-n']), { cmd: 'save', format: { numeric: true } });
  t.same(ok(['-C']), { cmd: 'clear' });
  t.same(ok(['-R']), { cmd: 'restore' });
  t.match(ok(['-L', '--sctp-service', '10.0.0.1:80']), { target: 'service', service: { protocol: 'sctp', addr: '10.0.0.1', port: 80 } });
  t.match(ok(['-A', '--sctp-service', '10.0.0.1:3868', '-s', 'rr']), { cmd: 'addService', spec: { protocol: 'sctp', port: 3868 } });
});

t.test('host and service names through the resolver', async (t) => {
  const resolver = tableResolver('10.9.9.9 web1 web1.example\n', 'http 80/tcp www\ndomain 53/udp\n');
  t.match(ok(['-A', '-t', 'web1:http'], { resolver }), { spec: { addr: '10.9.9.9', port: 80 } });
  t.match(ok(['-A', '-t', 'web1.example:www'], { resolver }), { spec: { addr: '10.9.9.9', port: 80 } });
  t.match(ok(['-A', '-u', '10.0.0.1:domain'], { resolver }), { spec: { port: 53 } });
  t.type(parseArgs(['-A', '-u', '10.0.0.1:http'], { resolver }), UsageError); // http is tcp only here
});

t.test('-h and -v', async (t) => {
  const h = ok(['-h']);
  t.equal(h.cmd, 'help');
  if (h.cmd === 'help') {
    t.equal(h.text.split('\n')[0], VERSION_LINE);
    t.match(h.text, /\n {2}tunvsadm -A\|E virtual-service /);
  }
  t.same(ok(['--version']), { cmd: 'version', text: 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n' });
  const named = ok(['--help'], { program: 'ipvsadm' });
  if (named.cmd === 'help') t.match(named.text, /\n {2}ipvsadm --set tcp tcpfin udp\n/);
});
