/**
 * binding.gyp builds the same addon as CMakeLists.txt: node-gyp builds it from the same sources (native/gyp_build.js,
 * into build/gyp, or $MMDISCO_GYP_DIR), and ts/native.ts loads it through MMDISCO_NATIVE in a child process, whose
 * calls agree with the cmake-js build's. The first run is a full native build (minutes on a small machine), later ones
 * recompile what changed. MMDISCO_SKIP_GYP_BUILD=1 skips it (reported as pending).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { native } from '../../ts/native';

const repo = path.resolve(__dirname, '..', '..', '..');

describe('node-gyp build (binding.gyp)', function () {
  const dir = path.resolve(process.env.MMDISCO_GYP_DIR ?? path.join(repo, 'build', 'gyp'));
  before(function () {
    if (process.env.MMDISCO_SKIP_GYP_BUILD === '1') {
      console.log('      (MMDISCO_SKIP_GYP_BUILD=1: the node-gyp build of binding.gyp is skipped)');
      this.skip();
    }
  });

  it('builds the addon, which ts/native.ts loads and which computes what the cmake-js build does', function () {
    this.timeout(60 * 60_000);
    const started = Date.now();
    const lines = execFileSync(process.execPath, [path.join(repo, 'native', 'gyp_build.js'), dir], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    }).trim().split('\n');
    const addon = lines[lines.length - 1];
    console.log(`      node-gyp build in ${dir}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.equal(addon, path.join(dir, 'build', 'Release', 'mmdisco_native.node'));

    const probe = `
      const { native } = require(${JSON.stringify(path.join(repo, 'dist', 'ts', 'native'))});
      const alphaBar = native.scheduleAlphaBar({ kind: 'cosine', timesteps: 50 });
      const covA = Float64Array.from([2, 0.5, 0.5, 1]);
      const covB = Float64Array.from([1, -0.2, -0.2, 3]);
      const frechet = native.frechetDistance({ data: Float64Array.from([0, 1]), shape: [2] }, { data: covA, shape: [2, 2] },
        { data: Float64Array.from([1, 1]), shape: [2] }, { data: covB, shape: [2, 2] });
      const info = native.runtimeInfo();
      console.log(JSON.stringify({ alphaBar: Array.from(alphaBar.data), frechet, torch: info.torchVersion, gloo: info.gloo }));`;
    const out = execFileSync(process.execPath, ['-e', probe], {
      env: { ...process.env, MMDISCO_NATIVE: addon },
      encoding: 'utf8',
    });
    const viaGyp = JSON.parse(out.trim().split('\n').pop() as string);

    const info = native.runtimeInfo();
    assert.equal(viaGyp.torch, info.torchVersion);
    assert.equal(viaGyp.gloo, info.gloo, 'both builds define USE_C10D_GLOO alike');
    assert.deepEqual(viaGyp.alphaBar, Array.from(native.scheduleAlphaBar({ kind: 'cosine', timesteps: 50 }).data));
    const frechet = native.frechetDistance(
      { data: Float64Array.from([0, 1]), shape: [2] },
      { data: Float64Array.from([2, 0.5, 0.5, 1]), shape: [2, 2] },
      { data: Float64Array.from([1, 1]), shape: [2] },
      { data: Float64Array.from([1, -0.2, -0.2, 3]), shape: [2, 2] },
    );
    assert.equal(viaGyp.frechet, frechet);
  });
});
