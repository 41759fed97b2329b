/**
 * A CI-sized run of the whole method with learned base models and a learned discriminator
 * (configs/toy/ci.json): guidance must couple the modalities without hurting the marginals.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../ts/config/load';
import { toyConfigSchema } from '../../ts/config/toy';
import { ToyReport, runToy } from '../../ts/toy/run';

const repo = path.resolve(__dirname, '..', '..', '..');

describe('toy run (CI-sized, learned base models and discriminator)', function () {
  let report: ToyReport;
  let out: string;

  before(async function () {
    out = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-toy-'));
    report = await runToy(loadConfig(toyConfigSchema, path.join(repo, 'configs', 'toy', 'ci.json')), out);
  });

  it('guided sampling couples audio and video (coupling ≥ 0.85 with K = 4; independent near 1/4)', () => {
    assert.ok(report.coupling.guided >= 0.85, `guided coupling ${report.coupling.guided}`);
    assert.ok(Math.abs(report.coupling.independent - 0.25) < 0.06, `independent coupling ${report.coupling.independent}`);
  });

  it('keeps each marginal as close to the truth as the base model alone (swd within 10 %)', () => {
    for (const m of ['audio', 'video'] as const) {
      const { base, guided } = report.swd[m];
      assert.ok(guided <= 1.1 * base, `${m}: guided swd ${guided} vs base ${base}`);
    }
    assert.ok(report.swd.joint.guided < report.swd.joint.independent, 'the joint distribution gets closer to the truth');
  });

  it('learns a residual that points where the closed-form one does', () => {
    assert.ok(report.residual_cosine > 0.5, `residual cosine ${report.residual_cosine}`);
  });

  it('writes the report, the sample figure, the loss curves, the log and the weights', () => {
    const written = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.equal(written.coupling.guided, report.coupling.guided);
    for (const file of ['samples.png', 'losses.png', 'log.jsonl', 'config.json', 'weights/discriminator.safetensors', 'weights/audio.safetensors']) {
      assert.ok(existsSync(path.join(out, file)), `${file} is missing`);
    }
  });
});
