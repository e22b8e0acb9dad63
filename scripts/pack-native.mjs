#!/usr/bin/env node
// prepack / postpack of the native addons (@tunvs/hostnet, @tunvs/tuntap, @tunvs/xdp).
// In the monorepo their binding.gyp finds the shared header in ../../native; a tarball has
// no such folder, so packing puts a copy of the header in the package's own native/ (the
// second include directory of binding.gyp), and removes it again afterwards.
//
//   node ../../scripts/pack-native.mjs           copy (run in the package's folder)
//   node ../../scripts/pack-native.mjs --clean   remove the copy
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const header = new URL('../native/tunvs-napi.h', import.meta.url);
const dir = join(process.cwd(), 'native');
if (process.argv.includes('--clean')) {
  rmSync(dir, { recursive: true, force: true });
} else {
  mkdirSync(dir, { recursive: true });
  copyFileSync(header, join(dir, 'tunvs-napi.h'));
}
