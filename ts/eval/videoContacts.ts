/**
 * Contact times of a bouncing object, detected from its frames alone (the video side of the AV onset F1,
 * datasets spec §3B): the object's centroid per frame, reversals of its velocity, and the sub-frame time of
 * each reversal from where the incoming and outgoing trajectory lines meet.
 */

/** One clip's frames: (frames, channels, height, width), row-major. */
export interface ClipFrames {
  frames: number;
  channels: number;
  height: number;
  width: number;
  /** uint8 (0..255, the shard encoding) or floats in [-1, 1] (the model space). */
  data: Uint8Array | Float32Array;
}

export interface VideoContactOptions {
  fps: number;
  /**
   * Rows at the bottom holding a static floor line (bouncing-ball draws one): their per-frame median level is
   * subtracted so that the floor does not pull the centroid down (default 1).
   */
  floorRows?: number;
  /** A frame whose object mass (Σ brightness above background, in pixels of full brightness) is below this has no centroid (default 0.5). */
  minMass?: number;
  /** A reversal needs a centroid step of at least this many pixels on both sides (default 0.15). */
  minStepPx?: number;
}

/** Centroid of the bright object per frame (pixel centres at +0.5); null where the frame shows no object. */
export function objectCentroids(clip: ClipFrames, options: Pick<VideoContactOptions, 'floorRows' | 'minMass'> = {}): ({ x: number; y: number } | null)[] {
  const { frames, channels, height, width, data } = clip;
  if (data.length !== frames * channels * height * width) {
    throw new Error(`objectCentroids: frames hold ${data.length} values, expected ${frames}·${channels}·${height}·${width}`);
  }
  const floorRows = options.floorRows ?? 1;
  const minMass = options.minMass ?? 0.5;
  const toUnit = data instanceof Uint8Array ? (v: number) => v / 255 : (v: number) => (v + 1) / 2;
  const plane = height * width;
  const grey = new Float64Array(plane);
  const out: ({ x: number; y: number } | null)[] = [];
  for (let f = 0; f < frames; f++) {
    grey.fill(0);
    for (let c = 0; c < channels; c++) {
      const base = (f * channels + c) * plane;
      for (let p = 0; p < plane; p++) grey[p] += toUnit(data[base + p]) / channels;
    }
    // Background: the median of the rows above the floor; floor rows: the median of each row.
    const background = median(grey.subarray(0, (height - floorRows) * width));
    let mass = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < height; i++) {
      const row = grey.subarray(i * width, (i + 1) * width);
      const level = i >= height - floorRows ? median(row) : background;
      for (let j = 0; j < width; j++) {
        const w = Math.max(0, row[j] - level);
        mass += w;
        sx += w * (j + 0.5);
        sy += w * (i + 0.5);
      }
    }
    out.push(mass >= minMass ? { x: sx / mass, y: sy / mass } : null);
  }
  return out;
}

/**
 * Contact times (seconds from the first frame) of the object: floor contacts are vertical velocity
 * reversals from down to up (y grows downwards; up-then-down is an apex, not a contact), wall contacts are
 * horizontal reversals either way. Sorted; contacts on both axes within one frame count once.
 */
export function videoContacts(clip: ClipFrames, options: VideoContactOptions): number[] {
  if (!(options.fps > 0)) throw new Error(`videoContacts: fps must be positive, got ${options.fps}`);
  const centroids = objectCentroids(clip, options);
  const minStep = options.minStepPx ?? 0.15;
  const xs = centroids.map((c) => (c ? c.x : NaN));
  const ys = centroids.map((c) => (c ? c.y : NaN));
  const frameTimes = [
    ...reversalFrames(ys, minStep, 'down-up').map((k) => subFrameReversal(ys, k)),
    ...reversalFrames(xs, minStep, 'either').map((k) => subFrameReversal(xs, k)),
  ].sort((a, b) => a - b);
  const merged: number[] = [];
  for (const t of frameTimes) {
    if (merged.length > 0 && t - merged[merged.length - 1] < 0.5) merged[merged.length - 1] = (merged[merged.length - 1] + t) / 2;
    else merged.push(t);
  }
  return merged.map((frame) => frame / options.fps);
}

/** Frames k where the step into k and the step out of k have opposite signs (both at least minStep). */
function reversalFrames(p: number[], minStep: number, kind: 'down-up' | 'either'): number[] {
  const out: number[] = [];
  for (let k = 1; k + 1 < p.length; k++) {
    const before = p[k] - p[k - 1];
    const after = p[k + 1] - p[k];
    if (!(Math.abs(before) >= minStep && Math.abs(after) >= minStep)) continue; // NaN fails too
    if (kind === 'down-up' ? before > 0 && after < 0 : Math.sign(before) !== Math.sign(after)) out.push(k);
  }
  return out;
}

/**
 * Sub-frame time (in frames) of a reversal whose extreme frame is k. The contact lies either between k − 1
 * and k (incoming line through frames k−2, k−1; outgoing through k, k+1) or between k and k + 1 (incoming
 * k−1, k; outgoing k+1, k+2); each hypothesis puts the contact where its two lines meet and holds when that
 * time falls inside its interval. When both hold, the one meeting further out (closer to the wall) wins;
 * when neither can be formed or holds, frame k itself.
 */
function subFrameReversal(p: number[], k: number): number {
  const direction = Math.sign(p[k] - p[k - 1]);
  const candidates: { time: number; reach: number }[] = [];
  const tryLines = (inA: number, inB: number, outA: number, outB: number, from: number, to: number) => {
    if (inA < 0 || outB >= p.length) return;
    const sIn = p[inB] - p[inA];
    const sOut = p[outB] - p[outA];
    if (!Number.isFinite(sIn) || !Number.isFinite(sOut) || Math.sign(sIn) !== direction || Math.sign(sOut) !== -direction) return;
    // p[inB] + sIn (τ − inB) = p[outA] + sOut (τ − outA)
    const time = (p[outA] - p[inB] + sIn * inB - sOut * outA) / (sIn - sOut);
    if (time < from || time > to) return;
    candidates.push({ time, reach: direction * (p[inB] + sIn * (time - inB)) });
  };
  tryLines(k - 2, k - 1, k, k + 1, k - 1, k);
  tryLines(k - 1, k, k + 1, k + 2, k, k + 1);
  if (candidates.length === 0) return k;
  candidates.sort((a, b) => b.reach - a.reach);
  return candidates[0].time;
}

function median(values: Float64Array): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
