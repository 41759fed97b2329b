/**
 * The toy joint distribution of `mmdisco toy run`: K isotropic Gaussian components whose shared index couples
 * audio and video. Means sit on a circle in the first two coordinates; the video circle is visited with a
 * stride, so that knowing the audio component pins the video component without a geometric shortcut.
 */
import type { ToyConfig } from '../config/toy';
import type { CoupledGaussianMixture } from '../core/mixture';

export function toyMixture(c: ToyConfig['mixture']): CoupledGaussianMixture {
  const K = c.components;
  const circlePoint = (k: number, dim: number): number[] => {
    const angle = (2 * Math.PI * k) / K;
    const point = new Array<number>(dim).fill(0);
    point[0] = c.radius * Math.cos(angle);
    point[1] = c.radius * Math.sin(angle);
    return point;
  };
  return {
    weights: c.weights ?? new Array<number>(K).fill(1 / K),
    audio: { means: [...Array(K).keys()].map((k) => circlePoint(k, c.audioDim)), std: new Array<number>(K).fill(c.audioStd) },
    video: {
      means: [...Array(K).keys()].map((k) => circlePoint((k * c.videoStride) % K, c.videoDim)),
      std: new Array<number>(K).fill(c.videoStd),
    },
  };
}
