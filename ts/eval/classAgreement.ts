/**
 * Each pair's class agreement: 1 where the audio-classifier and video-classifier predictions agree, else 0.
 */
export function pairClassAgreements(predA: Int32Array, predB: Int32Array): number[] {
  if (predA.length !== predB.length) {
    throw new Error(`classAgreement: prediction arrays differ in length (${predA.length} vs ${predB.length})`);
  }
  if (predA.length === 0) throw new Error('classAgreement: no predictions to compare');
  return Array.from(predA, (a, i) => (a === predB[i] ? 1 : 0));
}

/** Fraction of pairs whose predictions agree (the mean of pairClassAgreements): the class-alignment metric of a generated pair. */
export function classAgreement(predA: Int32Array, predB: Int32Array): number {
  return pairClassAgreements(predA, predB).reduce((sum, agree) => sum + agree, 0) / predA.length;
}

/** Fraction of predictions equal to the intended labels: agreement with the ground truth. */
export function accuracy(predictions: Int32Array, labels: Int32Array): number {
  return classAgreement(predictions, labels);
}
