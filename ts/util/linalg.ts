/**
 * Dense float64 linear algebra for the evaluation metrics. Matrices are row-major Float64Arrays of n×n entries.
 *
 * The symmetric eigensolver is LibTorch's (torch::linalg_eigh, LAPACK, through the addon: native/src/linalg.h),
 * exact to rounding for any symmetric input and many times faster than a JS solver at a few hundred dimensions.
 * ts/eval/frechet.ts computes its whole Fréchet distance there.
 */
import { native, tensor } from '../native';

export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Eigenvectors as rows: row j (entries j·n … j·n+n−1) is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition A = Vᵀ diag(values) V of a symmetric n×n matrix (V's rows are the eigenvectors).
 * The input is not modified; it is symmetrised as (A + Aᵀ)/2 first so that rounding asymmetry in a
 * computed product cannot bias the result.
 */
export function symmetricEigen(matrix: Float64Array, n: number): SymmetricEigen {
  checkSquare(matrix, n, 'symmetricEigen');
  const { values, vectors } = native.symmetricEigen(tensor(matrix, [n, n]));
  return { values: values.data, vectors: vectors.data };
}

/**
 * The symmetric positive semi-definite square root S^½ = Vᵀ diag(√max(λ, 0)) V. Eigenvalues that are
 * negative only through rounding (a covariance matrix is PSD) are clamped to zero.
 */
export function symmetricSqrt(matrix: Float64Array, n: number): Float64Array {
  checkSquare(matrix, n, 'symmetricSqrt');
  return native.symmetricSqrt(tensor(matrix, [n, n])).data;
}

/** Product of row-major matrices: (rows×inner) · (inner×cols). */
export function matMul(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  if (a.length !== rows * inner || b.length !== inner * cols) {
    throw new Error(`matMul: shapes ${rows}×${inner} and ${inner}×${cols} do not match lengths ${a.length} and ${b.length}`);
  }
  const out = new Float64Array(rows * cols);
  // i-k-j order keeps the inner loop on contiguous rows of b and out.
  for (let i = 0; i < rows; i++) {
    const outRow = i * cols;
    for (let k = 0; k < inner; k++) {
      const aik = a[i * inner + k];
      if (aik === 0) continue;
      const bRow = k * cols;
      for (let j = 0; j < cols; j++) out[outRow + j] += aik * b[bRow + j];
    }
  }
  return out;
}

/** Sum of the diagonal of an n×n matrix. */
export function trace(matrix: Float64Array, n: number): number {
  checkSquare(matrix, n, 'trace');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += matrix[i * n + i];
  return sum;
}

function checkSquare(matrix: Float64Array, n: number, caller: string): void {
  if (!Number.isInteger(n) || n < 0 || matrix.length !== n * n) {
    throw new Error(`${caller}: expected an ${n}×${n} matrix (${n * n} entries), got ${matrix.length} entries`);
  }
}
