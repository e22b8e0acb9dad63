#!/usr/bin/env node
// Compare `tunvsd --config-test`'s verdict (checkConfig of @tunvs/daemon) with the real
// keepalived's (`keepalived -l -n --config-test -f FILE`) on VRRP configurations.
//
//   node scripts/vrrp-config-compare.mjs FILE|DIR ...      [--vrrp-only] [--json] [--show N]
//
// DIR: every file under it whose text has `vrrp_instance` (with --vrrp-only) or any file.
// Prints one line per disagreement (file, keepalived's exit code and first message, ours)
// and a summary; exit status 1 when they disagree on any file. A file keepalived accepts and
// tunvs refuses only for what tunvs does not support (every error says "not supported by
// tunvs": tunvsd would not start with it) is listed apart as `unsupported`, not a
// disagreement. Needs keepalived installed
// and the repository built (`npx tsc -b`). Each keepalived run is bounded to 5 s.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { checkConfig } = await import(join(root, 'packages/daemon/dist/index.js'));

const args = process.argv.slice(2);
const vrrpOnly = args.includes('--vrrp-only');
const json = args.includes('--json');
const showIdx = args.indexOf('--show');
const show = showIdx >= 0 ? Number(args[showIdx + 1]) : 50;
const paths = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--show');

function walk(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), out);
  else out.push(p);
  return out;
}

const files = paths.flatMap((p) => walk(resolve(p), [])).filter((f) => {
  if (!vrrpOnly) return true;
  try {
    return readFileSync(f, 'utf8').includes('vrrp_instance');
  } catch {
    return false;
  }
});

const rows = [];
for (const f of files) {
  const k = spawnSync('keepalived', ['-l', '-n', '--config-test', '-f', f], { encoding: 'utf8', timeout: 5000, cwd: dirname(f) });
  const kcode = k.status ?? (k.signal ? `signal ${k.signal}` : 'timeout');
  const kmsg = `${k.stderr ?? ''}${k.stdout ?? ''}`.split('\n').filter(Boolean);
  let ours;
  try {
    ours = checkConfig(f);
  } catch (e) {
    ours = { exitCode: 'crash', messages: [String(e)] };
  }
  const errors = ours.messages.filter((m) => /: error: /.test(m));
  const unsupported = kcode === 0 && ours.exitCode !== 0 && errors.length > 0 && errors.every((m) => /not supported by tunvs/.test(m));
  rows.push({ file: f, keepalived: kcode, ours: ours.exitCode, agree: kcode === ours.exitCode, unsupported, kmsg: kmsg.slice(0, 3), omsg: (unsupported ? errors : ours.messages).slice(0, 3) });
}
const bad = rows.filter((r) => !r.agree && !r.unsupported);
const apart = rows.filter((r) => r.unsupported);
if (json) {
  const codes = rows.map((r) => ({ file: r.file, keepalived: r.keepalived, ours: r.ours }));
  process.stdout.write(JSON.stringify({ total: rows.length, agree: rows.length - bad.length - apart.length, disagreements: bad, unsupported: apart, codes }, null, 1) + '\n');
}
else {
  for (const r of bad.slice(0, show)) {
    process.stdout.write(`${r.file}: keepalived ${r.keepalived} [${r.kmsg[0] ?? ''}] ours ${r.ours} [${r.omsg[0] ?? ''}]\n`);
  }
  for (const r of apart.slice(0, show)) process.stdout.write(`${r.file}: keepalived 0, tunvs ${r.ours}: ${r.omsg[0] ?? ''}\n`);
  process.stdout.write(`${rows.length} files, ${rows.length - bad.length - apart.length} agree, ${bad.length} disagree, ${apart.length} refused by tunvs as not supported\n`);
}
process.exit(bad.length ? 1 : 0);
