// The "ftp" section of tunvsd's configuration: the FTP helper's ports, checked as the
// kernel module's `ports=` (1..65535, at most 8), a change reported as needing a restart.
import t from 'tap';
import { needsRestart, validateDaemonConfig } from '../src/index.js';

const base = (extra: Record<string, unknown>): unknown => ({ device: { name: 'kd0', kind: 'tun' }, services: [], ...extra });
const errors = (extra: Record<string, unknown>): string[] =>
  validateDaemonConfig(base(extra), 'f.json').findings.map((f) => `${f.severity} ${f.path}: ${f.message}`);

t.test('ports accepted and carried to the config', (t) => {
  const r = validateDaemonConfig(base({ ftp: { ports: [21, 2121] } }), 'f.json');
  t.same(r.findings, []);
  t.same(r.config!.ftp, { ports: [21, 2121] });
  t.same(validateDaemonConfig(base({ ftp: { ports: [] } }), 'f.json').config!.ftp, { ports: [] }, '[] turns the helper off');
  t.end();
});

t.test('bad ports, too many, repeats, unknown keys are refused with their path', (t) => {
  t.match(errors({ ftp: { ports: [0] } }).join('\n'), /error ftp\.ports\[0\].*not a port/);
  t.match(errors({ ftp: { ports: [70000] } }).join('\n'), /not a port/);
  t.match(errors({ ftp: { ports: '21' } }).join('\n'), /must be a list of ports/);
  t.match(errors({ ftp: { ports: [1, 2, 3, 4, 5, 6, 7, 8, 9] } }).join('\n'), /at most 8 ports/);
  t.match(errors({ ftp: { ports: [21, 21] } }).join('\n'), /listed twice/);
  t.match(errors({ ftp: { port: [21] } }).join('\n'), /unknown key "port"/);
  t.match(errors({ ftp: {} }).join('\n'), /warning ftp: no "ports"/);
  t.end();
});

t.test('a change of ports needs a restart; the default equals [21]', (t) => {
  const a = validateDaemonConfig(base({}), 'f.json').config!;
  const b = validateDaemonConfig(base({ ftp: { ports: [21] } }), 'f.json').config!;
  const c = validateDaemonConfig(base({ ftp: { ports: [2121] } }), 'f.json').config!;
  t.same(needsRestart(a, b), []);
  t.match(needsRestart(a, c).join(' '), /ftp\.ports/);
  t.end();
});
