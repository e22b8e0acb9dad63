import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, runTunvsdConfigTest } from '../src/index.js';
import { HttpOptions } from '../src/http-config.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'tunvsd-http-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('tunvsd.conf http_* keywords enable the HTTP server (files relative to the tunvsd.conf)', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'tunvsd.conf'), 'device kd0\nhttp_listen 127.0.0.1:9281\nhttp_password_file console.passwd\nhttp_token_file /etc/t.tokens\n');
  const r = checkConfig(join(d, 'tunvsd.conf'));
  t.same(r.messages, []);
  t.match(r.setup?.config.http, { host: '127.0.0.1', port: 9281, console: true, passwordFile: join(d, 'console.passwd'), tokenFile: '/etc/t.tokens' });
});

t.test('tunvsd.conf: /metrics only, and errors naming file:line', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'a.conf'), 'device kd0\nhttp_listen :9282\nhttp_console off\n');
  const a = checkConfig(join(d, 'a.conf'));
  t.match(a.setup?.config.http, { host: '127.0.0.1', port: 9282, console: false });
  writeFileSync(join(d, 'b.conf'), 'device kd0\nhttp_listen 127.0.0.1:9283\n');
  const b = checkConfig(join(d, 'b.conf'));
  t.equal(b.setup, null);
  t.match(b.messages.join('\n'), /b\.conf:2.*needs http_password_file or http_token_file/);
  writeFileSync(join(d, 'c.conf'), 'device kd0\nhttp_password_file p\n');
  const c = checkConfig(join(d, 'c.conf'));
  t.equal(c.setup, null);
  t.match(c.messages.join('\n'), /c\.conf:2.*http_password_file without http_listen/);
  writeFileSync(join(d, 'e.conf'), 'device kd0\nhttp_listen 127.0.0.1:99999\nhttp_console off\n');
  t.match(checkConfig(join(d, 'e.conf')).messages.join('\n'), /e\.conf:2.*port 99999 out of range/);
});

t.test('--http options (every form; the keepalived.conf way)', async (t) => {
  const parse = (argv: string[]): ReturnType<HttpOptions['config']> => {
    const o = new HttpOptions();
    for (let i = 0; i < argv.length; i++) {
      const n = o.take(argv, i);
      if (n === 0) throw new Error(`not an http option: ${argv[i]}`);
      i += n - 1;
    }
    return o.config();
  };
  t.equal(parse([]), null);
  t.match(parse(['--http', '127.0.0.1:9280', '--http-password-file', 'F']), { host: '127.0.0.1', port: 9280, passwordFile: 'F', console: true });
  t.match(parse(['--http', '0.0.0.0:9100', '--http-metrics-only']), { host: '0.0.0.0', port: 9100, console: false });
  t.throws(() => parse(['--http', '127.0.0.1:9280']), /--http-password-file or --http-token-file \(or --http-metrics-only\)/);
  t.throws(() => parse(['--http-password-file', 'F']), /need --http HOST:PORT/);
  t.throws(() => parse(['--http', 'nope']), /--http: 'nope' is not HOST:PORT/);
  t.throws(() => parse(['--http']), /--http needs a value/);
});

t.test('tunvsd.conf: each http_* message names its keyword, at its line', async (t) => {
  const d = dir(t);
  const msg = (name: string, text: string): string => {
    writeFileSync(join(d, name), text);
    return checkConfig(join(d, name)).messages.join('\n');
  };
  t.match(msg('s.tconf', 'device kd0\n\nhttp_listen 127.0.0.1\nhttp_console off\n'), `${join(d, 's.tconf')}:3: error: http_listen: '127.0.0.1' is not HOST:PORT`);
  t.notMatch(msg('s.tconf', 'device kd0\n\nhttp_listen 127.0.0.1\nhttp_console off\n'), /listenlisten/);
  t.match(msg('p.tconf', 'device kd0\nhttp_listen 127.0.0.1:9280\nhttp_password_file\n'), /p\.tconf:3: error: http_password_file must be a file name/);
  t.match(msg('k.tconf', 'device kd0\nhttp_listen 127.0.0.1:9280\nhttp_token_file /t\nhttp_tls_cert c.pem\nhttp_tls_key\n'), /k\.tconf:5: error: http_tls_key must be a file name/);
  t.match(msg('n.tconf', 'device kd0\nhttp_listen 127.0.0.1:9280\n'), /n\.tconf:2: error: the console needs http_password_file or http_token_file \(or http_console off for \/metrics only\)/);
});

t.test('--config-test checks the password, token and TLS files as the start does', async (t) => {
  const d = dir(t);
  const test = (name: string, text: string, opts: { http?: NonNullable<ReturnType<HttpOptions['config']>> } = {}) => {
    writeFileSync(join(d, name), text);
    const lines: string[] = [];
    const code = runTunvsdConfigTest(join(d, name), (l) => lines.push(l), opts);
    return { code, out: lines.join('\n') };
  };
  const missing = test('m.conf', 'device kd0\nhttp_listen 127.0.0.1:9281\nhttp_password_file console.passwd\n');
  t.equal(missing.code, 0, 'a password file not there yet: it starts, so 0');
  t.match(missing.out, `${join(d, 'console.passwd')}: warning: http_password_file: the file does not exist: nobody can log in`);
  writeFileSync(join(d, 'bad2.passwd'), 'garbage line\n');
  const bad = test('b.conf', 'device kd0\nhttp_listen 127.0.0.1:9281\nhttp_password_file bad2.passwd\n');
  t.equal(bad.code, 5, 'a bad line: an error, as the start fails');
  t.match(bad.out, `${join(d, 'bad2.passwd')}:1: error: http_password_file: expected user:hash`);
  const tls = test('t.json', JSON.stringify({ device: { name: 'kd0' }, services: [], http: { listen: '127.0.0.1:9281', console: false, tls: { cert: '/nonexistent.pem', key: '/nonexistent.key' } } }));
  t.equal(tls.code, 1, 'a TLS certificate that cannot be read: a JSON configuration error');
  t.match(tls.out, /\/nonexistent\.pem: error: http\.tls\.cert: cannot read the file: ENOENT/);
  const tlsConf = test('t.conf', 'device kd0\nhttp_listen 127.0.0.1:9281\nhttp_console off\nhttp_tls_cert /nonexistent.pem\nhttp_tls_key /nonexistent.key\n');
  t.equal(tlsConf.code, 4, 'tunvsd.conf: unreadable, 4');
  const o = new HttpOptions();
  o.take(['--http', '127.0.0.1:9281'], 0);
  o.take(['--http-password-file', '/nonexistent'], 0);
  const cli = test('c.json', JSON.stringify({ device: { name: 'kd0' }, services: [] }), { http: o.config()! });
  t.equal(cli.code, 0);
  t.match(cli.out, '/nonexistent: warning: --http-password-file: the file does not exist');
});
