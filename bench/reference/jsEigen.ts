/**
 * The JS symmetric eigensolver that ts/util/linalg.ts used before LibTorch's (torch::linalg_eigh) replaced it:
 * Householder tridiagonalisation and implicit QL (the classic tred2/tql2 pair, as in EISPACK and JAMA), kept as
 * the baseline of bench/frechet.ts, with the Fréchet distance that ts/eval/frechet.ts computed from it.
 */
import type { SymmetricEigen } from '../../ts/util/linalg';
import { matMul, trace } from '../../ts/util/linalg';

/** Fréchet distance squared as ts/eval/frechet.ts computed it in JS (same formula as native/src/linalg.h). */
export function jsFrechetDistance(muA: Float64Array, covA: Float64Array, muB: Float64Array, covB: Float64Array): number {
  const dim = muA.length;
  let meanTerm = 0;
  for (let k = 0; k < dim; k++) meanTerm += (muA[k] - muB[k]) ** 2;
  const sqrtA = jsSymmetricSqrt(covA, dim);
  const middle = matMul(matMul(sqrtA, covB, dim, dim, dim), sqrtA, dim, dim, dim);
  let crossTrace = 0;
  for (const value of jsSymmetricEigen(middle, dim).values) crossTrace += Math.sqrt(Math.max(value, 0));
  return Math.max(meanTerm + trace(covA, dim) + trace(covB, dim) - 2 * crossTrace, 0);
}

function jsSymmetricSqrt(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = jsSymmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const root = Math.sqrt(Math.max(values[k], 0));
    if (root === 0) continue;
    const row = k * n;
    for (let i = 0; i < n; i++) {
      const scaled = root * vectors[row + i];
      if (scaled === 0) continue;
      const outRow = i * n;
      for (let j = 0; j < n; j++) out[outRow + j] += scaled * vectors[row + j];
    }
  }
  return out;
}

/** Maximum QL iterations per eigenvalue before giving up (convergence normally takes 2–3). */
const MAX_QL_ITERATIONS = 100;

/**
 * Eigendecomposition A = Vᵀ diag(values) V of a symmetric n×n matrix (V's rows are the eigenvectors).
 * The input is not modified; it is symmetrised as (A + Aᵀ)/2 first so that rounding asymmetry in a
 * computed product cannot bias the result.
 */
export function jsSymmetricEigen(matrix: Float64Array, n: number): SymmetricEigen {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) v[i * n + j] = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: v };
  tridiagonalise(v, d, e, n);
  // tridiagonalise leaves the eigenvector basis in the columns; the QL rotations act on pairs of
  // eigenvectors, which are contiguous once they are rows.
  transposeInPlace(v, n);
  diagonaliseTridiagonal(v, d, e, n);
  return sortAscending(d, v, n);
}

function transposeInPlace(m: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const tmp = m[i * n + j];
      m[i * n + j] = m[j * n + i];
      m[j * n + i] = tmp;
    }
  }
}

/**
 * Householder reduction of the symmetric matrix in `v` to tridiagonal form (tred2). On return `d` holds
 * the diagonal, e[1..n−1] the sub-diagonal, and `v` the accumulated orthogonal transform in its columns.
 */
function tridiagonalise(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * n + i] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j] * d[k];
          e[k] += v[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the Householder transforms.
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
        for (let k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j];
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL iterations on the tridiagonal (d, e) (tql2), rotating the rows of `w` (the basis from
 * tridiagonalise, transposed) so that they end as the eigenvectors of d's final values.
 */
function diagonaliseTridiagonal(w: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = Math.pow(2, -52);
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > MAX_QL_ITERATIONS) {
          throw new Error(`symmetricEigen: QL iteration did not converge (is the matrix finite?)`);
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const rowI = i * n;
          const rowNext = rowI + n;
          for (let k = 0; k < n; k++) {
            h = w[rowNext + k];
            w[rowNext + k] = s * w[rowI + k] + c * h;
            w[rowI + k] = c * w[rowI + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

function sortAscending(values: Float64Array, vectors: Float64Array, n: number): SymmetricEigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const sortedValues = new Float64Array(n);
  const sortedVectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    sortedValues[to] = values[from];
    sortedVectors.set(vectors.subarray(from * n, from * n + n), to * n);
  });
  return { values: sortedValues, vectors: sortedVectors };
}
