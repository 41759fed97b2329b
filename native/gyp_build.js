#!/usr/bin/env node
/*
 * Builds the addon with node-gyp from the top-level binding.gyp, into a directory of its own:
 *
 *   node native/gyp_build.js <dir>    →  <dir>/build/Release/mmdisco_native.node (its path is the last line printed)
 *
 * node-gyp always writes ./build of the directory it runs in, which in the repository root is cmake-js's build
 * directory. So it runs in <dir>, which links binding.gyp, native/ and node_modules/ of the repository (nothing
 * is copied; a rebuild sees the current sources). Load the result with MMDISCO_NATIVE=<that path>.
 *
 * A second run in the same directory is incremental (configure lists the sources again, make recompiles what changed).
 * Offline: where Node's own headers are installed next to its binary (the official tarball layout, e.g. /usr),
 * node-gyp is pointed at them (--nodedir) and downloads nothing. Parallel jobs: $JOBS, else one per CPU.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node native/gyp_build.js <build directory>\n');
  process.exit(2);
}
const out = path.resolve(dir);
if (out === ROOT) {
  process.stderr.write('gyp_build: build elsewhere than the repository root (its build/ is cmake-js\'s)\n');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
// The top-level binding.gyp and what its relative paths and command expansions reach, linked into <dir>.
for (const name of ['binding.gyp', 'native', 'node_modules']) {
  const link = path.join(out, name);
  const existing = fs.lstatSync(link, { throwIfNoEntry: false });
  if (existing && !existing.isSymbolicLink()) {
    process.stderr.write(`gyp_build: ${link} exists and is not a link this script made; choose an empty directory\n`);
    process.exit(2);
  }
  if (existing) fs.unlinkSync(link);
  fs.symlinkSync(path.join(ROOT, name), link);
}

const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] });
const nodeRoot = path.resolve(path.dirname(process.execPath), '..');
const nodedir = fs.existsSync(path.join(nodeRoot, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodeRoot}`] : [];
// configure, then build (not rebuild): a second run in the same directory recompiles only what changed.
for (const command of [['configure'], ['build', `--jobs=${process.env.JOBS || os.availableParallelism()}`]]) {
  const run = spawnSync(process.execPath, [nodeGyp, ...command, `--directory=${out}`, ...nodedir], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
const addon = path.join(out, 'build', 'Release', 'mmdisco_native.node');
if (!fs.existsSync(addon)) {
  process.stderr.write(`gyp_build: node-gyp succeeded but wrote no ${addon}\n`);
  process.exit(1);
}
process.stdout.write(`${addon}\n`);
