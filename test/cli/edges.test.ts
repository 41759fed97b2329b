/**
 * Command-line edges a user trips over: outputs that cannot be created, flags that break a preset, overrides
 * of fields that do not exist, and --resume where there is nothing to resume. Each fails at once, naming the
 * flag, before any work.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../ts/config/load';
import { toyConfigSchema } from '../../ts/config/toy';
import { ShardWriter } from '../../ts/data';
import { mmdisco, repo } from '../fixtures/cli';

describe('command-line edges', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an --out that cannot be created, at once (a directory or a file under /proc)', () => {
    const toy = mmdisco('toy', 'run', '--config', path.join(repo, 'configs', 'toy', 'gmm.json'), '--out', '/proc/mmdisco-x');
    assert.equal(toy.status, 1, 'exits with an error (it used to spin forever)');
    assert.match(toy.stderr, /--out \/proc\/mmdisco-x: cannot create anything in \/proc/);
    const report = mmdisco('eval', 'pairs', '--data', dir, '--evaluators', dir, '--out', '/proc/mmdisco-x/report.json');
    assert.equal(report.status, 1);
    assert.match(report.stderr, /--out \/proc\/mmdisco-x\/report\.json: cannot create anything in \/proc/);
    const file = mmdisco('toy', 'run', '--config', path.join(repo, 'configs', 'toy', 'gmm.json'), '--out', path.join(repo, 'package.json'));
    assert.match(file.stderr, /--out .*package\.json: exists and is not a directory/);
  });

  it('names the data build flag that breaks the preset, not the schema', () => {
    const zero = mmdisco('data', 'build', '--dataset', 'spoken-mnist', '--split', 'train', '--pairs', '2', '--frames', '0', '--out', path.join(dir, 'd'));
    assert.equal(zero.status, 1);
    assert.match(zero.stderr, /--frames 0: Number must be greater than 0/);
    assert.doesNotMatch(zero.stderr, /"code"/, 'no raw schema dump');
    const long = mmdisco('data', 'build', '--dataset', 'spoken-mnist', '--split', 'train', '--pairs', '2', '--frames', '20', '--out', path.join(dir, 'd'));
    assert.match(long.stderr, /--preset small --frames 20: the video \(frames \/ fps\) must not be longer than the audio/);
    assert.equal(existsSync(path.join(dir, 'd')), false);
  });

  it('blames a bad --set on the override, not on the config file', () => {
    const config = path.join(repo, 'configs', 'toy', 'gmm.json');
    assert.throws(
      () => loadConfig(toyConfigSchema, config, ['base.stepz=10']),
      (error: unknown) => error instanceof ConfigError && /gmm\.json: base: Unrecognized key\(s\) in object: 'stepz' \(from --set base\.stepz=10\)/.test(error.message),
    );
    assert.throws(() => loadConfig(toyConfigSchema, config, ['base.steps=-1']), /base\.steps: Number must be greater than 0 \(from --set base\.steps=-1\)/);
  });

  it('says --overwrite when refusing to replace a dataset', async () => {
    const out = path.join(dir, 'dataset');
    const open = () =>
      ShardWriter.open(out, {
        tensors: [{ name: 'x', dtype: 'float32', shape: [1] }],
        meta: [],
        dataset: { name: 'edge', split: 'train', preset: 'tiny', seed: 0, provenance: {} },
      });
    const writer = await open();
    await writer.append({ tensors: { x: Float32Array.of(1) }, meta: {} });
    await writer.close();
    await assert.rejects(open(), /pass --overwrite to replace them/);
  });

  it('--resume where no run is: says so, and creates nothing', () => {
    const missing = path.join(dir, 'no-run');
    const guidance = mmdisco('train-guidance', '--out', missing, '--resume');
    assert.equal(guidance.status, 1);
    assert.match(guidance.stderr, /--resume: no training run in --out .*no-run/);
    const base = mmdisco('train-base', '--modality', 'audio', '--out', missing, '--resume');
    assert.equal(base.status, 1);
    assert.match(base.stderr, /no-run holds no training state to resume|--resume: no training run in --out/);
    assert.equal(existsSync(missing), false);
  });
});
