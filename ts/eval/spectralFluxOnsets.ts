export interface SpectralFluxOptions {
  /** Seconds between consecutive frames (hop length / sample rate). */
  hopSeconds: number;
  /**
   * Added to every onset time: the offset from a frame's start to its window centre (n_fft / 2 / sample
   * rate, e.g. 16 ms for n_fft 512 at 16 kHz) when frame f covers samples [f·hop, f·hop + n_fft). Use 0 for
   * centred frames (frame f centred on f·hop). Default 0.
   */
  windowCentreSeconds?: number;
  /** Memory order of logMel: 'frame-major' = [frames][bins] (default), 'bin-major' = [bins][frames]. */
  layout?: 'frame-major' | 'bin-major';
  /** A peak must be the largest flux within ± this many frames (default 3). */
  peakRadius?: number;
  /** Half-width in frames of the moving mean the flux must exceed (default 10). */
  averageRadius?: number;
  /** Margin above the moving mean, as a fraction of the clip's largest flux (default 0.1). */
  delta?: number;
  /** Absolute floor on a peak's flux, so that a silent or stationary clip yields no onsets (default 1e-6). */
  minFlux?: number;
}

/**
 * Audio onset times (seconds) by spectral flux on a log-mel spectrogram:
 *   flux[f] = Σ_b max(0, L[f, b] − L[f−1, b])   (flux[0] = 0: no previous frame to rise from),
 * then peak picking: f is an onset when flux[f] is the maximum within ± peakRadius frames (the first
 * of equal values wins), exceeds the mean over ± averageRadius frames by delta · max(flux), and is at
 * least minFlux. The onset time is f · hopSeconds + windowCentreSeconds.
 */
export function spectralFluxOnsets(logMel: Float32Array, frames: number, bins: number, options: SpectralFluxOptions): number[] {
  if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(bins) || bins < 1 || logMel.length !== frames * bins) {
    throw new Error(`spectralFluxOnsets: logMel has ${logMel.length} values, expected frames·bins = ${frames}·${bins}`);
  }
  if (!(options.hopSeconds > 0)) throw new Error(`spectralFluxOnsets: hopSeconds must be positive, got ${options.hopSeconds}`);
  const windowCentre = options.windowCentreSeconds ?? 0;
  const peakRadius = options.peakRadius ?? 3;
  const averageRadius = options.averageRadius ?? 10;
  const delta = options.delta ?? 0.1;
  const minFlux = options.minFlux ?? 1e-6;
  const binMajor = options.layout === 'bin-major';
  const at = (f: number, b: number): number => (binMajor ? logMel[b * frames + f] : logMel[f * bins + b]);

  const flux = new Float64Array(frames);
  let maxFlux = 0;
  for (let f = 1; f < frames; f++) {
    let rise = 0;
    for (let b = 0; b < bins; b++) rise += Math.max(0, at(f, b) - at(f - 1, b));
    flux[f] = rise;
    maxFlux = Math.max(maxFlux, rise);
  }

  const onsets: number[] = [];
  for (let f = 1; f < frames; f++) {
    const value = flux[f];
    if (value < minFlux) continue;
    if (!isFirstMaximum(flux, f, peakRadius)) continue;
    const from = Math.max(0, f - averageRadius);
    const to = Math.min(frames - 1, f + averageRadius);
    let sum = 0;
    for (let g = from; g <= to; g++) sum += flux[g];
    if (value < sum / (to - from + 1) + delta * maxFlux) continue;
    onsets.push(f * options.hopSeconds + windowCentre);
  }
  return onsets;
}

/** True when flux[f] is strictly above every value before it and at least every value after it, within ± radius. */
function isFirstMaximum(flux: Float64Array, f: number, radius: number): boolean {
  for (let g = Math.max(0, f - radius); g < f; g++) if (flux[g] >= flux[f]) return false;
  for (let g = f + 1; g <= Math.min(flux.length - 1, f + radius); g++) if (flux[g] > flux[f]) return false;
  return true;
}
