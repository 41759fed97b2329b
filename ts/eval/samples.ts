/**
 * The one representation of a set of samples (or feature vectors) used by every metric:
 * n rows of `dim` values, row-major, in a Float32Array or Float64Array.
 */
export type SampleData = Float32Array | Float64Array;

export interface SampleSet {
  data: SampleData;
  n: number;
  dim: number;
}

/** Wraps row-major data as a SampleSet, checking that the length is n·dim. */
export function sampleSet(data: SampleData, n: number, dim: number): SampleSet {
  const set = { data, n, dim };
  checkSampleSet(set, 'sample set');
  return set;
}

/** Throws, naming `what`, unless the set is well formed and has at least `minRows` rows. */
export function checkSampleSet(set: SampleSet, what: string, minRows = 0): void {
  if (!Number.isInteger(set.n) || set.n < 0 || !Number.isInteger(set.dim) || set.dim < 1) {
    throw new Error(`${what}: n must be a non-negative integer and dim a positive integer (got n=${set.n}, dim=${set.dim})`);
  }
  if (set.data.length !== set.n * set.dim) {
    throw new Error(`${what}: data has ${set.data.length} values, expected n·dim = ${set.n}·${set.dim} = ${set.n * set.dim}`);
  }
  if (set.n < minRows) throw new Error(`${what}: needs at least ${minRows} rows, got ${set.n}`);
}

/** Throws unless both sets have the same dimension. */
export function checkSameDim(x: SampleSet, y: SampleSet, caller: string): void {
  if (x.dim !== y.dim) throw new Error(`${caller}: sample sets differ in dimension (${x.dim} vs ${y.dim})`);
}

/** A new float64 set holding the given rows of `set`, in the given order. */
export function selectRows(set: SampleSet, rows: ArrayLike<number>): SampleSet & { data: Float64Array } {
  const { dim } = set;
  const data = new Float64Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const from = rows[r];
    if (!(from >= 0 && from < set.n)) throw new Error(`selectRows: row ${from} is outside 0..${set.n - 1}`);
    for (let k = 0; k < dim; k++) data[r * dim + k] = set.data[from * dim + k];
  }
  return { data, n: rows.length, dim };
}

/** Row-wise concatenation [a | b] of two sets with the same number of rows (e.g. a joint audio-video sample). */
export function joinColumns(a: SampleSet, b: SampleSet): SampleSet {
  if (a.n !== b.n) throw new Error(`joinColumns: row counts differ (${a.n} vs ${b.n})`);
  const dim = a.dim + b.dim;
  const data = new Float64Array(a.n * dim);
  for (let i = 0; i < a.n; i++) {
    for (let k = 0; k < a.dim; k++) data[i * dim + k] = a.data[i * a.dim + k];
    for (let k = 0; k < b.dim; k++) data[i * dim + a.dim + k] = b.data[i * b.dim + k];
  }
  return { data, n: a.n, dim };
}
