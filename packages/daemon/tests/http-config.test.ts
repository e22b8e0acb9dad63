import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '../src/index.js';
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
  t.match(b.messages.join('\n'), /b\.conf:2.*needs passwordFile or tokenFile/);
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
