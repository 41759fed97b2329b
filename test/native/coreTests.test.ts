/**
 * The C++ core's own tests (native/test/core_tests.cpp, built next to the addon as mmdisco_core_tests): network
 * configs, sampler determinism, loss parity and the released discriminators' parity with the official code (its
 * argument: the fixtures in test/fixtures/official-mmdisco), without Node in between.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

describe('C++ core tests (mmdisco_core_tests)', () => {
  it('pass', function () {
    this.timeout(120_000);
    const exe = path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'mmdisco_core_tests');
    assert.ok(existsSync(exe), `${exe} is missing: build it with npm run build:native`);
    const fixtures = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'official-mmdisco');
    const run = spawnSync(exe, [fixtures], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /all core tests passed/);
  });
});
