/** K isotropic Gaussian components in one modality: component k is N(means[k], std[k]² I). */
export interface IsotropicComponents {
  /** K × dim component means. */
  means: number[][];
  /** K standard deviations. */
  std: number[];
}

/**
 * The toy joint distribution: pick component k with probability weights[k], then draw audio and video
 * independently from their k-th components. The shared k is the only coupling between a and v.
 */
export interface CoupledGaussianMixture {
  weights: number[];
  audio: IsotropicComponents;
  video: IsotropicComponents;
}
