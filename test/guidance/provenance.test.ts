/**
 * Data and models that do not belong together are refused, naming both sides, whatever their shapes (the two
 * datasets' small presets share every tensor shape); --allow-mismatch lets them through and records it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readIndex } from '../../ts/data';
import { mmdisco, repo } from '../fixtures/cli';

const base = (name: string) => path.join(repo, 'models', 'base', name);

describe('data and models that do not belong together', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-provenance-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const draw = (audio: string, video: string, out: string, ...extra: string[]) =>
    mmdisco('fakes', 'generate', '--audio-base', base(audio), '--video-base', base(video), '-n', '4', '--steps', '2', '--batch', '4', '--out', path.join(dir, out), ...extra);

  it('fakes generate: base models of two datasets are refused, or recorded with --allow-mismatch', () => {
    const refused = draw('spoken-mnist-audio', 'bouncing-ball-video', 'mixed');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /--audio-base .*spoken-mnist-audio was trained on 'spoken-mnist' but --video-base .*bouncing-ball-video on 'bouncing-ball'; pass --allow-mismatch/);
    const allowed = draw('spoken-mnist-audio', 'bouncing-ball-video', 'mixed', '--allow-mismatch');
    assert.equal(allowed.status, 0, allowed.stderr);
    const provenance = readIndex(path.join(dir, 'mixed')).dataset.provenance as { generator: { allowedMismatches?: string[] } };
    assert.match(provenance.generator.allowedMismatches?.[0] ?? '', /trained on 'spoken-mnist' but .* on 'bouncing-ball'/);
  });

  it('train-guidance: real pairs or fakes of another dataset than the base models are refused, naming both', () => {
    assert.equal(draw('spoken-mnist-audio', 'spoken-mnist-video', 'sm-fakes').status, 0);
    assert.equal(draw('bouncing-ball-audio', 'bouncing-ball-video', 'bb-fakes').status, 0);
    const config = path.join(repo, 'configs', 'guidance', 'small.json');
    const train = (real: string, fake: string) =>
      mmdisco('train-guidance', '--real', path.join(dir, real), '--fake', path.join(dir, fake), '--audio-base', base('spoken-mnist-audio'),
        '--video-base', base('spoken-mnist-video'), '--config', config, '--out', path.join(dir, `run-${real}-${fake}`), '--max-steps', '1');
    const wrongReal = train('bb-fakes', 'sm-fakes');
    assert.equal(wrongReal.status, 1);
    assert.match(wrongReal.stderr, /--real .*bb-fakes holds 'bouncing-ball' pairs but the base models .* were trained on 'spoken-mnist'/);
    const wrongFake = train('sm-fakes', 'bb-fakes');
    assert.match(wrongFake.stderr, /--fake .*bb-fakes holds 'bouncing-ball' pairs/);
  });

  it('sample: a guidance module trained for another dataset is refused', () => {
    const result = mmdisco('sample', '--audio-base', base('bouncing-ball-audio'), '--video-base', base('bouncing-ball-video'),
      '--guidance', 'models/guidance/spoken-mnist', '--lambda-audio', '1', '--lambda-video', '1', '-n', '2', '--steps', '2', '--out', path.join(dir, 'guided'));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--guidance models\/guidance\/spoken-mnist was trained with base models of 'spoken-mnist' but --audio-base\/--video-base were trained on 'bouncing-ball'/);
  });
});
