import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDataset } from '../../datasets/build';
import { resolveUnit } from '../../ts/core/unit';
import { EVALUATORS_FILE, evaluateDataset, loadEvaluators, trainEvaluators } from '../../ts/eval/evaluators';
import { gaussianStats } from '../../ts/eval/frechet';
import { calibrate, confidenceMetrics, pairSetMetrics } from '../../ts/eval/pairMetrics';
import { native, tensor } from '../../ts/native';
import { trace } from '../../ts/util/linalg';
import { Rng } from '../../ts/util/random';

const SHIPPED = path.resolve(__dirname, '..', '..', '..', 'evaluators');

describe('evaluator classifiers', () => {
  it('mel-cnn training loss falls on class-dependent log-mels', async function () {
    this.timeout(60_000);
    const rng = new Rng(3);
    const [frames, bins, n] = [40, 16, 128];
    const labels = new Int32Array(n);
    const x = new Float32Array(n * frames * bins);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 4;
      // Class c is a loud band of mel bins 4c..4c+3 at a random time, over a noisy floor.
      const start = rng.int(frames - 8);
      for (let f = 0; f < frames; f++) {
        for (let b = 0; b < bins; b++) {
          const loud = f >= start && f < start + 8 && b >> 2 === labels[i];
          x[(i * frames + f) * bins + b] = (loud ? -2 : -9) + 0.5 * rng.gaussian();
        }
      }
    }
    const clf = new native.Classifier({
      seed: 1,
      threads: 1,
      network: { kind: 'mel-cnn', inputShape: [frames, bins], classes: 4, width: 8, featureDim: 16, inputMean: -8, inputStd: 2 },
      optimizer: { lr: 3e-3 },
    });
    const data = tensor(x, [n, frames, bins]);
    const first = (await clf.trainSteps(data, tensor(labels, [n]), 32)).losses.data;
    let last = first;
    for (let epoch = 0; epoch < 5; epoch++) last = (await clf.trainSteps(data, tensor(labels, [n]), 32)).losses.data;
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(last) < 0.5 * mean(first), `loss ${mean(first)} → ${mean(last)}`);
    const { logits, features } = await clf.predict(data);
    assert.deepEqual(logits.shape, [n, 4]);
    assert.deepEqual(features.shape, [n, 16]);
  });

  it('video-cnn reads uint8 frames as x / 127.5 − 1, and its training loss falls', async function () {
    this.timeout(60_000);
    const rng = new Rng(4);
    const shape = [4, 1, 8, 8];
    const size = 4 * 64;
    const n = 64;
    const labels = new Int32Array(n);
    const bytes = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      // Class 0: a bright square; class 1: a dim one; at a random place.
      const [y0, x0] = [rng.int(6), rng.int(6)];
      for (let f = 0; f < 4; f++) for (let y = y0; y < y0 + 2; y++) for (let x = x0; x < x0 + 2; x++) bytes[i * size + f * 64 + y * 8 + x] = labels[i] ? 90 : 250;
    }
    const clf = new native.Classifier({ seed: 2, threads: 1, network: { kind: 'video-cnn', inputShape: shape, classes: 2, width: 8, featureDim: 16 }, optimizer: { lr: 3e-3 } });
    const floats = Float32Array.from(bytes, (v) => v / 127.5 - 1);
    const fromBytes = await clf.predict(tensor(bytes, [n, ...shape]));
    const fromFloats = await clf.predict(tensor(floats, [n, ...shape]));
    fromBytes.logits.data.forEach((v, i) => assert.ok(Math.abs(v - fromFloats.logits.data[i]) < 1e-5));
    const losses: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) losses.push(...(await clf.trainSteps(tensor(bytes, [n, ...shape]), tensor(labels, [n]), 16)).losses.data);
    const head = losses.slice(0, 4).reduce((s, v) => s + v, 0) / 4;
    const tail = losses.slice(-4).reduce((s, v) => s + v, 0) / 4;
    assert.ok(tail < 0.5 * head, `loss ${head} → ${tail}`);
  });

  it('rejects inputs of the wrong shape with a message naming the expected shape', async () => {
    const clf = new native.Classifier({ network: { kind: 'mel-cnn', inputShape: [20, 8], classes: 3 } });
    await assert.rejects(clf.predict(tensor(new Float32Array(2 * 20 * 9), [2, 20, 9])), /mel-cnn: input must have shape \(batch, 20, 8\), got \(2, 20, 9\)/);
    assert.throws(() => new native.Classifier({ network: { kind: 'mlp' as 'mel-cnn', inputShape: [20, 8], classes: 3 } }), /kind must be 'mel-cnn' or 'video-cnn'/);
  });
});

describe('evaluator directories', () => {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-evaluators-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('name the directory and the missing or bad file', async () => {
    await assert.rejects(loadEvaluators(path.join(tmp, 'nope')), /evaluators .*nope: no such directory/);
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    await assert.rejects(loadEvaluators(empty), /empty\/evaluators\.json: missing: not an evaluator directory/);
    const broken = path.join(tmp, 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, EVALUATORS_FILE), JSON.stringify({ format: 'mmdisco-evaluators', version: 1 }));
    await assert.rejects(loadEvaluators(broken), /broken\/evaluators\.json: field 'dataset': Required/);
    // Parameters of the spoken-mnist audio network under the bouncing-ball evaluators: shapes disagree.
    const swapped = path.join(tmp, 'swapped');
    mkdirSync(swapped);
    for (const file of [EVALUATORS_FILE, 'video.safetensors', 'reference.safetensors']) copyFileSync(path.join(SHIPPED, 'bouncing-ball-small', file), path.join(swapped, file));
    copyFileSync(path.join(SHIPPED, 'spoken-mnist-small', 'audio.safetensors'), path.join(swapped, 'audio.safetensors'));
    await assert.rejects(loadEvaluators(swapped), /swapped\/audio\.safetensors: does not fit the audio network of evaluators\.json/);
  });

  it('trains on a tiny set and writes a directory that loads back with the same predictions', async function () {
    this.timeout(120_000);
    const unit = resolveUnit('small');
    const train = path.join(tmp, 'sm-train');
    const test = path.join(tmp, 'sm-test');
    await buildDataset({ dataset: 'spoken-mnist', split: 'train', preset: 'small', unit, pairs: 64, seed: 0, out: train });
    await buildDataset({ dataset: 'spoken-mnist', split: 'test', preset: 'small', unit, pairs: 32, seed: 1, out: test });
    const out = path.join(tmp, 'trained');
    const result = await trainEvaluators({ trainDir: train, testDir: test, outDir: out, epochs: 2, batchSize: 16, lr: 2e-3, seed: 0, width: 4, featureDim: 8, augmentation: { gainLog: 1, melShift: 2 } });
    assert.equal(result.losses.audio.length, 8);
    const loaded = await loadEvaluators(out);
    assert.equal(loaded.reference.audio.n, 32);
    const outputs = await evaluateDataset(loaded, test);
    const accuracy = outputs.labels!.reduce((s, label, i) => s + (label === outputs.audio.predictions[i] ? 1 : 0), 0) / 32;
    assert.ok(Math.abs(accuracy - result.info.audio.testAccuracy) < 1e-12);
    // A dataset the evaluators were not trained for is refused, naming both.
    await assert.rejects(evaluateDataset(await loadEvaluators(path.join(SHIPPED, 'bouncing-ball-small')), test), /dataset 'spoken-mnist' does not match the evaluators/);
  });
});

describe('confidence metrics', () => {
  it('counts the samples whose class probability reaches the threshold', () => {
    const { recognisable, meanConfidence } = confidenceMetrics(Float32Array.from([0.2, 0.5, 0.9, 0.4]));
    assert.equal(recognisable, 0.5);
    assert.ok(Math.abs(meanConfidence - 0.5) < 1e-6);
  });
});

describe('calibration with the shipped evaluators', () => {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-calibrate-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const dataset of ['spoken-mnist', 'bouncing-ball'] as const) {
    it(`${dataset}: matched pairs agree far more than shuffled ones`, async function () {
      this.timeout(120_000);
      const dir = path.join(tmp, dataset);
      await buildDataset({ dataset, split: 'test', preset: 'small', unit: resolveUnit('small'), pairs: 160, seed: 5, out: dir });
      const evaluators = await loadEvaluators(path.join(SHIPPED, `${dataset}-small`));
      const outputs = await evaluateDataset(evaluators, dir);
      const report = calibrate(outputs, evaluators);
      assert.ok(report.classAgreement.matched > 0.6, `agreement matched ${report.classAgreement.matched}`);
      assert.ok(report.classAgreement.shuffled < 0.3, `agreement shuffled ${report.classAgreement.shuffled}`);
      if (dataset === 'bouncing-ball') {
        assert.ok(report.onsetF1, 'bouncing-ball has an onset F1');
        assert.ok(report.onsetF1.matched > report.onsetF1.shuffled + 0.2, `onset F1 ${JSON.stringify(report.onsetF1)}`);
      } else {
        assert.equal(report.onsetF1, null);
      }
      // Real pairs against the real reference: accurate, and a Fréchet distance small next to the features' spread.
      const metrics = pairSetMetrics(outputs, evaluators);
      for (const m of ['audio', 'video'] as const) {
        assert.ok(metrics[m].accuracy! > 0.6, `${m} accuracy ${metrics[m].accuracy}`);
        // Real samples are mostly recognisable, and a confidence is a probability of the winning class.
        assert.ok(metrics[m].recognisable > 0.6, `${m} recognisable ${metrics[m].recognisable}`);
        assert.equal(report.recognisable[m], metrics[m].recognisable);
        assert.ok(outputs[m].confidence.every((c) => c >= 0.1 - 1e-6 && c <= 1 + 1e-6), `${m} confidence outside [1/classes, 1]`);
        const spread = trace(gaussianStats(evaluators.reference[m]).cov, evaluators.reference[m].dim);
        assert.ok(metrics[m].frechet < 0.1 * spread, `${m} Fréchet ${metrics[m].frechet} vs total variance ${spread}`);
        assert.ok(Number.isFinite(metrics[m].kid.mean) && metrics[m].kid.std >= 0, `${m} KID ${JSON.stringify(metrics[m].kid)}`);
      }
    });
  }
});
