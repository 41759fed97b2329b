/**
 * Mean over rows of the cosine similarity between two sets of `dim`-vectors, e.g. the learned guidance
 * residual vs the closed-form one at the same (x_t, t). A row where both vectors are zero counts as 1
 * (they agree exactly); a row where only one is zero counts as 0 (no direction to agree with).
 */
export function residualCosine(a: Float32Array | Float64Array, b: Float32Array | Float64Array, dim: number): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`residualCosine: dim must be a positive integer, got ${dim}`);
  if (a.length !== b.length || a.length % dim !== 0) {
    throw new Error(`residualCosine: lengths ${a.length} and ${b.length} are not equal multiples of dim ${dim}`);
  }
  const rows = a.length / dim;
  if (rows === 0) throw new Error('residualCosine: no rows to compare');
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let normA = 0;
    let normB = 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) {
      dot += a[k] * b[k];
      normA += a[k] * a[k];
      normB += b[k] * b[k];
    }
    if (normA === 0 && normB === 0) total += 1;
    else if (normA > 0 && normB > 0) total += dot / Math.sqrt(normA * normB);
  }
  return total / rows;
}
