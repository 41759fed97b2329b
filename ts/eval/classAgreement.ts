/**
 * Fraction of pairs whose audio-classifier and video-classifier predictions agree: the class-alignment
 * metric of a generated pair.
 */
export function classAgreement(predA: Int32Array, predB: Int32Array): number {
  if (predA.length !== predB.length) {
    throw new Error(`classAgreement: prediction arrays differ in length (${predA.length} vs ${predB.length})`);
  }
  if (predA.length === 0) throw new Error('classAgreement: no predictions to compare');
  let same = 0;
  for (let i = 0; i < predA.length; i++) if (predA[i] === predB[i]) same++;
  return same / predA.length;
}

/** Fraction of predictions equal to the intended labels: agreement with the ground truth. */
export function accuracy(predictions: Int32Array, labels: Int32Array): number {
  return classAgreement(predictions, labels);
}
