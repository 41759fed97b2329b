import assert from 'node:assert/strict';
import { frechetDistance, frechetFromSamples, gaussianStats } from '../../ts/eval/frechet';
import { kernelInceptionDistance } from '../../ts/eval/kernelInceptionDistance';
import { slicedWasserstein } from '../../ts/eval/slicedWasserstein';
import { matMul } from '../../ts/util/linalg';
import { Rng } from '../../ts/util/random';
import { gaussianSet, randomPsd } from './helpers';

/** A random orthogonal d×d matrix (Gram–Schmidt on a Gaussian matrix). */
function randomRotation(d: number, rng: Rng): Float64Array {
  const q = rng.fillGaussian(new Float64Array(d * d));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += q[i * d + k] * q[j * d + k];
      for (let k = 0; k < d; k++) q[i * d + k] -= dot * q[j * d + k];
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += q[i * d + k] ** 2;
    for (let k = 0; k < d; k++) q[i * d + k] /= Math.sqrt(norm);
  }
  return q;
}

describe('sliced Wasserstein (W2)', () => {
  it('is 0 between a set and itself', () => {
    const x = gaussianSet(500, [0, 1, 2], [1, 2, 3], new Rng(1));
    assert.ok(slicedWasserstein(x, x, { projections: 64 }) < 1e-12);
  });

  it('gives |m| for N(0,1) vs N(m,1) in one dimension, with unequal set sizes', () => {
    const rng = new Rng(2);
    for (const m of [0.5, 3]) {
      const d = slicedWasserstein(gaussianSet(4000, [0], [1], rng), gaussianSet(3000, [m], [1], rng), { projections: 4 });
      assert.ok(Math.abs(d - m) < 0.08, `m=${m}: got ${d}`);
    }
  });

  it('gives |m|/√d for a pure shift in d dimensions and ~0 for two draws of one distribution', () => {
    const rng = new Rng(3);
    const x = gaussianSet(3000, [0, 0], [1, 1], rng);
    const shifted = gaussianSet(3000, [3, 0], [1, 1], rng);
    const same = gaussianSet(3000, [0, 0], [1, 1], rng);
    const d = slicedWasserstein(x, shifted, { projections: 512, seed: 5 });
    assert.ok(Math.abs(d - 3 / Math.SQRT2) < 0.1, `got ${d}`);
    assert.ok(slicedWasserstein(x, same, { projections: 128 }) < 0.08);
  });

  it('is reproducible for a seed', () => {
    const rng = new Rng(4);
    const x = gaussianSet(200, [0, 0, 0], [1, 1, 1], rng);
    const y = gaussianSet(300, [1, 0, 0], [1, 2, 1], rng);
    assert.equal(slicedWasserstein(x, y, { seed: 9 }), slicedWasserstein(x, y, { seed: 9 }));
  });
});

describe('Fréchet distance', () => {
  it('matches the closed form for diagonal Gaussians', () => {
    const muA = Float64Array.from([0, 1, -2]);
    const muB = Float64Array.from([1, 1, 0]);
    const varA = [1, 4, 0.25];
    const varB = [9, 1, 0.25];
    const diag = (v: number[]): Float64Array => {
      const m = new Float64Array(9);
      v.forEach((x, i) => (m[i * 3 + i] = x));
      return m;
    };
    // |Δμ|² + Σ (σA − σB)²
    const expected = 1 + 0 + 4 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0;
    assert.ok(Math.abs(frechetDistance(muA, diag(varA), muB, diag(varB)) - expected) < 1e-10);
  });

  it('is invariant under a common rotation of both Gaussians and zero for identical ones', () => {
    const d = 12;
    const rng = new Rng(6);
    const covA = randomPsd(d, d, rng);
    const covB = randomPsd(d, 5, rng);
    const muA = rng.fillGaussian(new Float64Array(d));
    const muB = rng.fillGaussian(new Float64Array(d));
    const q = randomRotation(d, rng);
    const qt = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) qt[j * d + i] = q[i * d + j];
    const rotate = (cov: Float64Array): Float64Array => matMul(matMul(q, cov, d, d, d), qt, d, d, d);
    const before = frechetDistance(muA, covA, muB, covB);
    const after = frechetDistance(matMul(q, muA, d, d, 1), rotate(covA), matMul(q, muB, d, d, 1), rotate(covB));
    assert.ok(before > 1);
    assert.ok(Math.abs(before - after) < 1e-8 * before, `${before} vs ${after}`);
    assert.ok(frechetDistance(muA, covA, muA, covA) < 1e-9);
  });

  it('gaussianStats recovers mean and covariance; frechetFromSamples approaches the population value', () => {
    const rng = new Rng(7);
    const x = gaussianSet(20000, [1, -1], [2, 0.5], rng);
    const stats = gaussianStats(x);
    assert.ok(Math.abs(stats.mean[0] - 1) < 0.05 && Math.abs(stats.mean[1] + 1) < 0.02);
    assert.ok(Math.abs(stats.cov[0] - 4) < 0.15 && Math.abs(stats.cov[3] - 0.25) < 0.01 && Math.abs(stats.cov[1]) < 0.03);
    const y = gaussianSet(20000, [0, -1], [1, 0.5], rng);
    // Population value: 1 + (2 − 1)² = 2.
    assert.ok(Math.abs(frechetFromSamples(x, y) - 2) < 0.15);
  });
});

describe('kernel inception distance', () => {
  it('is ≈ 0 for the same distribution and clearly positive for a shifted one', () => {
    const rng = new Rng(8);
    const dim = 8;
    const zeros = new Array(dim).fill(0);
    const ones = new Array(dim).fill(1);
    const x = gaussianSet(600, zeros, ones, rng);
    const same = gaussianSet(600, zeros, ones, rng);
    const shifted = gaussianSet(600, [1, ...zeros.slice(1)], ones, rng);
    const options = { subsets: 10, subsetSize: 300, seed: 1 };
    const null_ = kernelInceptionDistance(x, same, options);
    const alt = kernelInceptionDistance(x, shifted, options);
    assert.equal(null_.values.length, 10);
    assert.ok(Math.abs(null_.mean) < 3 * null_.std + 1e-3, `same: ${null_.mean} ± ${null_.std}`);
    assert.ok(alt.mean > 5 * alt.std && alt.mean > 10 * Math.abs(null_.mean), `shifted: ${alt.mean} ± ${alt.std}`);
  });
});
