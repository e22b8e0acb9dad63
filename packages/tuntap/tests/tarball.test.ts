import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The native addons' tarballs must build on their own: in the monorepo binding.gyp finds
// the shared header in ../../native, which a tarball does not have, so `npm pack` puts a
// copy in the package's native/ (scripts/pack-native.mjs). This packs each addon, unpacks
// it away from the repository and runs node-gyp there, as `npm install` of the tarball
// would.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const nodeGyp = join(root, 'node_modules', '.bin', 'node-gyp');

function run(cmd: string, args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** the end of a command's output, for a failed step only */
const tail = (r: { status: number | null; out: string }, n: number): string => (r.status === 0 ? '' : `: ${r.out.slice(-n)}`);

// where `npm ci` took node's headers from (node-gyp would otherwise download them)
const nodedir = run('npm', ['config', 'get', 'nodedir'], root).out.trim();

for (const pkg of ['tuntap', 'hostnet', 'xdp']) {
  t.test(`@tunvs/${pkg}: its tarball holds what binding.gyp needs and builds alone`, { skip: existsSync(nodeGyp) ? false : 'node-gyp is not installed' }, async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), `tunvs-pack-${pkg}-`));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const dir = join(root, 'packages', pkg);
    const packed = run('npm', ['pack', '--silent', '--pack-destination', tmp], dir);
    t.equal(packed.status, 0, `npm pack${tail(packed, 500)}`);
    t.notOk(existsSync(join(dir, 'native')), 'the header copy is removed from the package after packing');
    const tgz = packed.out.trim().split('\n').pop()!;
    const untar = run('tar', ['xzf', join(tmp, tgz)], tmp);
    t.equal(untar.status, 0, `tar${tail(untar, 500)}`);
    const pkgDir = join(tmp, 'package');
    t.ok(existsSync(join(pkgDir, 'native', 'tunvs-napi.h')), 'the shared header is in the tarball');
    const build = run(nodeGyp, ['rebuild', ...(nodedir && nodedir !== 'undefined' ? [`--nodedir=${nodedir}`] : [])], pkgDir);
    t.equal(build.status, 0, `node-gyp rebuild in the unpacked tarball${tail(build, 800)}`);
    t.ok(existsSync(join(pkgDir, 'build', 'Release', `${pkg}.node`)), `build/Release/${pkg}.node`);
  });
}
