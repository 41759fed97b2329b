/**
 * Log-mel spectrogram: the one place that defines the project's audio feature convention.
 *
 * - STFT: periodic Hann window of length nFft, hop `hop`, frames centred at t = k·hop (reflect padding of
 *   nFft/2 at both ends), k = 0 .. floor(samples / hop) − 1. So 1.6 s at 16 kHz with hop 160 gives exactly
 *   160 frames (frame k covers the 10 ms starting at k·hop, centred on its first sample).
 * - Magnitude |X| (not power), mel filterbank with HTK mel scale (2595·log10(1 + f/700)), triangular
 *   filters from 0 Hz to sampleRate/2, unnormalised (peak 1).
 * - Output: natural log, clamped below at 1e-5: ln(max(mel, 1e-5)). Row-major (frames, melBins).
 *
 * The FFT stays in JS although the addon links torch::stft, because compute() builds datasets: its float32 output
 * is stored in shards whose checksums are shipped, and the released evaluators and models were trained on them, so
 * it must reproduce them byte for byte. torch.stft in float32 changes ~90 % of the stored values (|Δ| up to 2e-5
 * on a 1.6 s clip at 32/64 mel bins); in float64 it matched that clip bit for bit, but its sums run in another order,
 * so bytes of other clips are not guaranteed. No other code computes a mel spectrogram here (Griffin-Lim, which only
 * makes audio to listen to, already runs torch::stft natively: native/src/griffin_lim.h).
 */
export interface MelConfig {
  sampleRate: number;
  nFft: number;
  hop: number;
  melBins: number;
}

export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

export const LOG_MEL_FLOOR = 1e-5;

/** Centre frequency (Hz) of every mel filter. */
export function melCentersHz(cfg: MelConfig): Float64Array {
  const edges = melEdgesHz(cfg);
  return edges.subarray(1, cfg.melBins + 1);
}

function melEdgesHz(cfg: MelConfig): Float64Array {
  const top = hzToMel(cfg.sampleRate / 2);
  const edges = new Float64Array(cfg.melBins + 2);
  for (let i = 0; i < edges.length; i++) edges[i] = melToHz((top * i) / (cfg.melBins + 1));
  return edges;
}

/** Precomputed window, FFT tables and filterbank for one configuration; reuse it across clips. */
export class MelSpectrogram {
  private readonly window: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly bitrev: Uint32Array;
  /** Per mel bin: first FFT bin and its weights. */
  private readonly filters: { start: number; weights: Float64Array }[];
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(readonly cfg: MelConfig) {
    const n = cfg.nFft;
    if (n < 4 || (n & (n - 1)) !== 0) throw new Error(`MelSpectrogram: nFft must be a power of two ≥ 4, got ${n}`);
    const half = n / 2;
    this.window = new Float64Array(n);
    for (let i = 0; i < n; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    // Twiddles W_n^k = cos − i·sin for k = 0..n/2 (the half-size FFT uses every other one).
    this.cos = new Float64Array(half + 1);
    this.sin = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / n);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / n);
    }
    const bits = Math.log2(half);
    this.bitrev = new Uint32Array(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.bitrev[i] = r;
    }
    this.re = new Float64Array(half);
    this.im = new Float64Array(half);

    const edges = melEdgesHz(cfg);
    const binHz = cfg.sampleRate / n;
    this.filters = [];
    for (let m = 0; m < cfg.melBins; m++) {
      const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
      const start = Math.max(0, Math.ceil(lo / binHz));
      const end = Math.min(n / 2, Math.floor(hi / binHz));
      const weights = new Float64Array(Math.max(0, end - start + 1));
      for (let k = start; k <= end; k++) {
        const f = k * binHz;
        weights[k - start] = Math.max(0, f <= mid ? (f - lo) / (mid - lo) : (hi - f) / (hi - mid));
      }
      this.filters.push({ start, weights });
    }
  }

  /** The mel filterbank as a dense row-major (melBins, nFft/2 + 1) matrix (for inverting a mel spectrogram). */
  filterbank(): Float32Array {
    const bins = this.cfg.nFft / 2 + 1;
    const out = new Float32Array(this.cfg.melBins * bins);
    this.filters.forEach(({ start, weights }, m) => out.set(weights, m * bins + start));
    return out;
  }

  frameCount(samples: number): number {
    return Math.floor(samples / this.cfg.hop);
  }

  /** Log-mel of a mono signal: Float32Array of shape (frameCount, melBins), row-major. */
  compute(signal: Float32Array): Float32Array {
    const { nFft, hop, melBins } = this.cfg;
    const frames = this.frameCount(signal.length);
    const out = new Float32Array(frames * melBins);
    const half = nFft / 2;
    const magnitude = new Float64Array(half + 1);
    for (let f = 0; f < frames; f++) {
      const start = f * hop - half;
      const interior = start >= 0 && start + nFft <= signal.length;
      // The real frame is packed as a half-length complex signal z[m] = x[2m] + i·x[2m+1].
      for (let m = 0; m < half; m++) {
        const i0 = start + 2 * m;
        const s0 = interior ? i0 : reflectIndex(i0, signal.length);
        const s1 = interior ? i0 + 1 : reflectIndex(i0 + 1, signal.length);
        const j = this.bitrev[m];
        this.re[j] = signal[s0] * this.window[2 * m];
        this.im[j] = signal[s1] * this.window[2 * m + 1];
      }
      this.halfFftInPlace();
      this.realSpectrumMagnitude(magnitude);
      for (let m = 0; m < melBins; m++) {
        const { start, weights } = this.filters[m];
        let acc = 0;
        for (let k = 0; k < weights.length; k++) acc += weights[k] * magnitude[start + k];
        out[f * melBins + m] = Math.log(Math.max(acc, LOG_MEL_FLOOR));
      }
    }
    return out;
  }

  /** Iterative radix-2 FFT of size nFft/2 over re/im already in bit-reversed order. */
  private halfFftInPlace(): void {
    const n = this.cfg.nFft;
    const points = n / 2;
    const { re, im } = this;
    for (let size = 2; size <= points; size <<= 1) {
      const halfSize = size >> 1;
      const step = n / size; // W_size^k = W_n^(k·n/size)
      for (let start = 0; start < points; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = this.cos[k * step];
          const wi = this.sin[k * step];
          const a = start + k;
          const b = a + halfSize;
          const tr = re[b] * wr - im[b] * wi;
          const ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  /**
   * |X[k]| for k = 0..nFft/2 of the real frame, from the packed half-size spectrum Z:
   * X[k] = E[k] + W_n^k·O[k] with E = (Z[k] + conj Z[M−k]) / 2 and O = (Z[k] − conj Z[M−k]) / 2i.
   */
  private realSpectrumMagnitude(out: Float64Array): void {
    const m = this.cfg.nFft / 2;
    const { re, im } = this;
    for (let k = 0; k <= m; k++) {
      const a = k % m;
      const b = (m - k) % m;
      const er = 0.5 * (re[a] + re[b]);
      const ei = 0.5 * (im[a] - im[b]);
      const or = 0.5 * (im[a] + im[b]);
      const oi = -0.5 * (re[a] - re[b]);
      const wr = this.cos[k];
      const wi = this.sin[k];
      const xr = er + or * wr - oi * wi;
      const xi = ei + or * wi + oi * wr;
      // Math.hypot is several times slower in V8, and these values never overflow.
      out[k] = Math.sqrt(xr * xr + xi * xi);
    }
  }
}

/** numpy/librosa "reflect" padding index (edge sample not repeated). */
function reflectIndex(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < length ? j : period - j;
}
