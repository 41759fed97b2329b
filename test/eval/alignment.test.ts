import assert from 'node:assert/strict';
import { resolveUnit } from '../../ts/core/unit';
import { accuracy, classAgreement, pairClassAgreements } from '../../ts/eval/classAgreement';
import type { CoupledGaussianMixture } from '../../ts/core/mixture';
import { componentPosterior, sampleMixture } from '../../ts/eval/mixture';
import { mixtureCoupling } from '../../ts/eval/mixtureCoupling';
import { avOnsetF1, avOnsetF1s, pairedDifference } from '../../ts/eval/pairMetrics';
import { meanOnsetF1, onsetF1 } from '../../ts/eval/onsetF1';
import { residualCosine } from '../../ts/eval/residualCosine';
import { selectRows } from '../../ts/eval/samples';
import { spectralFluxOnsets } from '../../ts/eval/spectralFluxOnsets';
import { Rng } from '../../ts/util/random';

/** Four components on the corners of a square in each modality, well separated relative to their std. */
const squareMixture: CoupledGaussianMixture = {
  weights: [0.25, 0.25, 0.25, 0.25],
  audio: { means: [[-4, -4], [-4, 4], [4, -4], [4, 4]], std: [0.5, 0.5, 0.5, 0.5] },
  video: { means: [[0, 6], [6, 0], [0, -6], [-6, 0]], std: [0.7, 0.7, 0.7, 0.7] },
};

describe('class agreement and accuracy', () => {
  it('count equal entries', () => {
    assert.equal(classAgreement(Int32Array.from([1, 2, 3, 4]), Int32Array.from([1, 0, 3, 0])), 0.5);
    assert.deepEqual(pairClassAgreements(Int32Array.from([1, 2, 3, 4]), Int32Array.from([1, 0, 3, 0])), [1, 0, 1, 0]);
    assert.equal(accuracy(Int32Array.from([7, 7]), Int32Array.from([7, 7])), 1);
    assert.throws(() => classAgreement(Int32Array.from([1]), Int32Array.from([1, 2])), /length/);
    assert.throws(() => pairClassAgreements(new Int32Array(0), new Int32Array(0)), /no predictions/);
  });
});

describe('mixture coupling', () => {
  it('is 1 for coupled pairs and ≈ 1/K for independent ones', () => {
    const rng = new Rng(11);
    const { audio, video } = sampleMixture(squareMixture, 4000, rng);
    assert.ok(mixtureCoupling(audio, video, squareMixture) > 0.999);
    const independentVideo = selectRows(video, rng.permutation(video.n));
    const coupling = mixtureCoupling(audio, independentVideo, squareMixture);
    assert.ok(Math.abs(coupling - 0.25) < 0.03, `independent coupling ${coupling}`);
  });

  it('weighs the components by their mixture weights', () => {
    const rng = new Rng(12);
    const skewed: CoupledGaussianMixture = { ...squareMixture, weights: [0.7, 0.1, 0.1, 0.1] };
    const { audio, video } = sampleMixture(skewed, 4000, rng);
    const coupling = mixtureCoupling(audio, selectRows(video, rng.permutation(video.n)), skewed);
    // Σ w² = 0.49 + 3 · 0.01
    assert.ok(Math.abs(coupling - 0.52) < 0.03, `independent coupling ${coupling}`);
  });

  it('componentPosterior follows Bayes’ rule, including the weights', () => {
    const mixture: CoupledGaussianMixture = {
      weights: [3, 1],
      audio: { means: [[0], [2]], std: [1, 1] },
      video: { means: [[0], [1]], std: [1, 1] },
    };
    // At a = 1 both likelihoods are equal, so the posterior is the normalised weights.
    const posterior = componentPosterior({ data: Float64Array.from([1, 3]), n: 2, dim: 1 }, mixture.weights, mixture.audio);
    assert.ok(Math.abs(posterior[0] - 0.75) < 1e-12 && Math.abs(posterior[1] - 0.25) < 1e-12);
    // At a = 3: ratio 3·exp(−4.5) : exp(−0.5).
    const expected = (3 * Math.exp(-4.5)) / (3 * Math.exp(-4.5) + Math.exp(-0.5));
    assert.ok(Math.abs(posterior[2] - expected) < 1e-12 && Math.abs(posterior[2] + posterior[3] - 1) < 1e-12);
  });
});

describe('onset F1', () => {
  const tolerance = 0.05;
  it('is 1 for exact matches and for two empty lists; 0 when one side is empty', () => {
    assert.equal(onsetF1([0.1, 0.5, 0.9], [0.1, 0.5, 0.9], tolerance), 1);
    assert.equal(onsetF1([0.11, 0.48], [0.1, 0.5], tolerance), 1);
    assert.equal(onsetF1([], [], tolerance), 1);
    assert.equal(onsetF1([0.2], [], tolerance), 0);
    assert.equal(onsetF1([], [0.2], tolerance), 0);
  });

  it('is 0 when every onset is shifted beyond the tolerance', () => {
    assert.equal(onsetF1([0.2, 0.7], [0.1, 0.5], tolerance), 0);
  });

  it('counts extra and missing events through precision and recall', () => {
    // 2 matched of 3 onsets and 2 events: F1 = 2·2 / (3 + 2).
    assert.equal(onsetF1([0.1, 0.3, 0.5], [0.1, 0.5], tolerance), 0.8);
    // 1 matched of 1 onset and 3 events: F1 = 2 / 4.
    assert.equal(onsetF1([0.5], [0.1, 0.5, 0.9], tolerance), 0.5);
  });

  it('matches one to one, nearest pairs first', () => {
    // Two onsets near one event: only one can match it.
    assert.equal(onsetF1([0.49, 0.51], [0.5], tolerance), 2 / 3);
    // 0.52 is nearer 0.54 than 0.50 is; greedy by gap pairs (0.52, 0.54), then (0.50, 0.47).
    assert.equal(onsetF1([0.5, 0.52], [0.47, 0.54], tolerance), 1);
  });

  it('meanOnsetF1 averages per pair', () => {
    const pairs = [
      { audio: [0.1], video: [0.1] },
      { audio: [0.1], video: [0.9] },
    ];
    assert.equal(meanOnsetF1(pairs, tolerance), 0.5);
  });
});

describe('paired difference', () => {
  it('is the mean of x − y with standard error sd(x − y)/√n: shared parts cancel; lengths must agree', () => {
    const shared = [10, -4, 7, 0.5];
    const x = shared.map((s, i) => s + [1, 2, 3, 4][i]);
    const { mean, stdErr } = pairedDifference(x, shared);
    assert.ok(Math.abs(mean - 2.5) < 1e-12, `${mean}`);
    // sd of [1, 2, 3, 4] is √(5/3); over √4.
    assert.ok(Math.abs(stdErr - Math.sqrt(5 / 3) / 2) < 1e-12, `${stdErr}`);
    assert.equal(pairedDifference([1, 2, 3], [1, 2, 3]).stdErr, 0);
    assert.throws(() => pairedDifference([1, 2], [1]), /2 vs 1 observations/);
    assert.throws(() => pairedDifference([1], [1]), /1 pair\(s\); a standard error needs at least 2/);
  });

  it('avOnsetF1s gives each pair its F1, the mean of which is avOnsetF1; onsets after the last frame are dropped', () => {
    const unit = resolveUnit('small', { frames: 11, fps: 10 });
    const audio = [[0.1, 0.5], [0.3, 1.5], []];
    const video = [[0.1, 0.52], [0.3], [0.7]];
    const perPair = avOnsetF1s(audio, video, unit);
    assert.deepEqual(perPair, [1, 1, 0]);
    assert.equal(avOnsetF1(audio, video, unit), 2 / 3);
  });
});

describe('spectral-flux onsets', () => {
  it('finds synthetic onsets in a noisy log-mel within one hop, in either layout', () => {
    const frames = 160;
    const bins = 32;
    const hop = 0.01;
    const centre = 0.016;
    const onsetFrames = [20, 65, 120];
    const rng = new Rng(13);
    const logMel = new Float32Array(frames * bins);
    for (let f = 0; f < frames; f++) {
      for (let b = 0; b < bins; b++) {
        // Noise floor at −8 plus, after each onset, a decaying broadband burst.
        let energy = 1e-4;
        for (const onset of onsetFrames) if (f >= onset) energy += Math.exp(-(f - onset) / 6) * (1 + 0.5 * Math.sin(b));
        logMel[f * bins + b] = Math.log(energy) + 0.05 * rng.gaussian();
      }
    }
    const detected = spectralFluxOnsets(logMel, frames, bins, { hopSeconds: hop, windowCentreSeconds: centre });
    const truth = onsetFrames.map((f) => f * hop + centre);
    assert.equal(detected.length, truth.length, `detected ${detected}`);
    detected.forEach((t, i) => assert.ok(Math.abs(t - truth[i]) <= hop + 1e-9, `onset ${i}: ${t} vs ${truth[i]}`));

    const binMajor = new Float32Array(frames * bins);
    for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) binMajor[b * frames + f] = logMel[f * bins + b];
    const transposed = spectralFluxOnsets(binMajor, frames, bins, { hopSeconds: hop, windowCentreSeconds: centre, layout: 'bin-major' });
    assert.deepEqual(transposed, detected);
  });

  it('finds nothing in a constant spectrogram', () => {
    assert.deepEqual(spectralFluxOnsets(new Float32Array(50 * 8).fill(-5), 50, 8, { hopSeconds: 0.01 }), []);
  });
});

describe('residual cosine', () => {
  it('is 1 for parallel rows, −1 for opposite, and averages over rows', () => {
    const a = Float32Array.from([1, 2, 3, 0, 1, 0]);
    assert.ok(Math.abs(residualCosine(a, Float32Array.from([2, 4, 6, 0, 5, 0]), 3) - 1) < 1e-12);
    assert.ok(Math.abs(residualCosine(a, Float32Array.from([-1, -2, -3, 0, -1, 0]), 3) + 1) < 1e-12);
    // Row 1 parallel (1), row 2 orthogonal (0).
    assert.ok(Math.abs(residualCosine(a, Float32Array.from([1, 2, 3, 1, 0, 0]), 3) - 0.5) < 1e-12);
    assert.equal(residualCosine(new Float32Array(3), new Float32Array(3), 3), 1);
  });
});
