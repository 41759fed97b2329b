import { classAgreement } from './classAgreement';
import type { CoupledGaussianMixture } from '../core/mixture';
import { checkMixture, mapComponents } from './mixture';
import { SampleSet } from './samples';

/**
 * Coupling of generated toy pairs: the fraction of pairs (a_i, v_i) whose maximum-posterior component
 * from a alone equals the one from v alone. True pairs from well-separated components score ≈ 1;
 * independent a and v score ≈ Σ weights[k]² (1/K for equal weights).
 */
export function mixtureCoupling(audio: SampleSet, video: SampleSet, mixture: CoupledGaussianMixture): number {
  checkMixture(mixture);
  if (audio.n !== video.n) throw new Error(`mixtureCoupling: ${audio.n} audio samples but ${video.n} video samples`);
  if (audio.n === 0) throw new Error('mixtureCoupling: no samples');
  const fromAudio = mapComponents(audio, mixture.weights, mixture.audio);
  const fromVideo = mapComponents(video, mixture.weights, mixture.video);
  return classAgreement(fromAudio, fromVideo);
}
