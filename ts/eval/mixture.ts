import { Rng } from '../util/random';
import type { CoupledGaussianMixture, IsotropicComponents } from '../core/mixture';
import { SampleSet, checkSampleSet } from './samples';

/** Throws, naming the field, unless the mixture is consistent; returns its sizes. */
export function checkMixture(mixture: CoupledGaussianMixture): { components: number; audioDim: number; videoDim: number } {
  const components = mixture.weights.length;
  if (components < 1) throw new Error('mixture.weights: needs at least one component');
  mixture.weights.forEach((w, k) => {
    if (!(w > 0) || !Number.isFinite(w)) throw new Error(`mixture.weights[${k}]: must be a positive finite number, got ${w}`);
  });
  const dimOf = (name: 'audio' | 'video'): number => {
    const { means, std } = mixture[name];
    if (means.length !== components || std.length !== components) {
      throw new Error(`mixture.${name}: needs ${components} means and stds (one per weight), got ${means.length} and ${std.length}`);
    }
    const dim = means[0].length;
    means.forEach((mean, k) => {
      if (mean.length !== dim || dim < 1) throw new Error(`mixture.${name}.means[${k}]: length ${mean.length}, expected ${dim} ≥ 1`);
    });
    std.forEach((s, k) => {
      if (!(s > 0) || !Number.isFinite(s)) throw new Error(`mixture.${name}.std[${k}]: must be a positive finite number, got ${s}`);
    });
    return dim;
  };
  return { components, audioDim: dimOf('audio'), videoDim: dimOf('video') };
}

/**
 * Posterior p(k | x) ∝ weights[k] · N(x; means[k], std[k]² I) of each component given one modality's
 * sample alone: n × K row-major, rows summing to 1.
 */
export function componentPosterior(samples: SampleSet, weights: number[], components: IsotropicComponents): Float64Array {
  const scores = componentLogScores(samples, weights, components);
  const K = weights.length;
  for (let i = 0; i < samples.n; i++) {
    const row = scores.subarray(i * K, (i + 1) * K);
    let max = -Infinity;
    for (const s of row) max = Math.max(max, s);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      row[k] = Math.exp(row[k] - max);
      sum += row[k];
    }
    for (let k = 0; k < K; k++) row[k] /= sum;
  }
  return scores;
}

/** The maximum-posterior component of each sample, from one modality alone. */
export function mapComponents(samples: SampleSet, weights: number[], components: IsotropicComponents): Int32Array {
  const scores = componentLogScores(samples, weights, components);
  const K = weights.length;
  const best = new Int32Array(samples.n);
  for (let i = 0; i < samples.n; i++) {
    let bestK = 0;
    for (let k = 1; k < K; k++) if (scores[i * K + k] > scores[i * K + bestK]) bestK = k;
    best[i] = bestK;
  }
  return best;
}

/** Draws n coupled pairs: one component per pair, then audio and video from that component. */
export function sampleMixture(
  mixture: CoupledGaussianMixture,
  n: number,
  rng: Rng,
): { audio: SampleSet; video: SampleSet; components: Int32Array } {
  const { audioDim, videoDim } = checkMixture(mixture);
  const cumulative: number[] = [];
  let total = 0;
  for (const w of mixture.weights) cumulative.push((total += w));
  const components = new Int32Array(n);
  const audio = new Float64Array(n * audioDim);
  const video = new Float64Array(n * videoDim);
  const drawFrom = (modality: IsotropicComponents, k: number, out: Float64Array, offset: number, dim: number): void => {
    for (let d = 0; d < dim; d++) out[offset + d] = modality.means[k][d] + modality.std[k] * rng.gaussian();
  };
  for (let i = 0; i < n; i++) {
    const u = rng.uniform() * total;
    let k = 0;
    while (k < cumulative.length - 1 && u >= cumulative[k]) k++;
    components[i] = k;
    drawFrom(mixture.audio, k, audio, i * audioDim, audioDim);
    drawFrom(mixture.video, k, video, i * videoDim, videoDim);
  }
  return {
    audio: { data: audio, n, dim: audioDim },
    video: { data: video, n, dim: videoDim },
    components,
  };
}

/** log weights[k] + log N(x; means[k], std[k]² I) up to a constant shared by all k; n × K. */
function componentLogScores(samples: SampleSet, weights: number[], components: IsotropicComponents): Float64Array {
  checkSampleSet(samples, 'componentPosterior: samples');
  const K = weights.length;
  if (components.means.length !== K || components.std.length !== K) {
    throw new Error(`componentPosterior: ${K} weights but ${components.means.length} means and ${components.std.length} stds`);
  }
  const { data, n, dim } = samples;
  components.means.forEach((mean, k) => {
    if (mean.length !== dim) throw new Error(`componentPosterior: mean ${k} has length ${mean.length}, samples have dim ${dim}`);
  });
  const scores = new Float64Array(n * K);
  for (let k = 0; k < K; k++) {
    const mean = components.means[k];
    const variance = components.std[k] ** 2;
    const constant = Math.log(weights[k]) - 0.5 * dim * Math.log(variance);
    for (let i = 0; i < n; i++) {
      let squared = 0;
      for (let d = 0; d < dim; d++) squared += (data[i * dim + d] - mean[d]) ** 2;
      scores[i * K + k] = constant - squared / (2 * variance);
    }
  }
  return scores;
}
