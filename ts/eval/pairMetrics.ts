/**
 * Fidelity and alignment of a set of audio-video pairs, from the outputs of the evaluator classifiers
 * (ts/eval/evaluators.ts): per-modality accuracy and feature distances to the real test set, class agreement
 * between the modalities, and the AV onset F1 where the dataset has sound events at visible contacts.
 */
import type { UnitSpec } from '../core/unit';
import { Rng } from '../util/random';
import { accuracy, classAgreement } from './classAgreement';
import type { DatasetOutputs, EvaluatorSet, ModalityOutputs } from './evaluators';
import type { Modality } from '../core/modality';
import { frechetFromSamples } from './frechet';
import { kernelInceptionDistance } from './kernelInceptionDistance';
import { meanOnsetF1, onsetF1 } from './onsetF1';
import type { SampleSet } from './samples';

/**
 * A sample is recognisable when the evaluator gives its class a probability of at least this. Generated pairs have
 * no class column, so their "accuracy" is this fraction, read against the same fraction on real test pairs
 * (`eval calibrate`) and the evaluator's own test accuracy.
 */
export const RECOGNISABLE_CONFIDENCE = 0.5;

export interface ModalityMetrics {
  /** Agreement of the classifier with the pairs' class column; null when the set has none. */
  accuracy: number | null;
  /** Fraction of pairs whose class the classifier gives a probability ≥ RECOGNISABLE_CONFIDENCE. */
  recognisable: number;
  /** Mean probability of the predicted class. */
  meanConfidence: number;
  /** Fréchet distance of the penultimate features to the real test set's (FAD / FVD-style). */
  frechet: number;
  /** KID (unbiased MMD², cubic kernel) of the same features: mean and std over subsets. */
  kid: { mean: number; std: number };
}

export interface PairSetMetrics {
  pairs: number;
  audio: ModalityMetrics;
  video: ModalityMetrics;
  /** P[audio classifier's class = video classifier's class]. */
  classAgreement: number;
  /** Mean per-pair AV onset F1 (bouncing-ball); null for datasets without sound events at contacts. */
  onsetF1: number | null;
}

/** Metrics of a classified set against the evaluators' reference (real test) features. */
export function pairSetMetrics(outputs: DatasetOutputs, evaluators: EvaluatorSet): PairSetMetrics {
  const modality = (m: Modality): ModalityMetrics => featureMetrics(outputs[m], outputs.labels, evaluators.reference[m]);
  return {
    pairs: outputs.pairs,
    audio: modality('audio'),
    video: modality('video'),
    classAgreement: classAgreement(outputs.audio.predictions, outputs.video.predictions),
    onsetF1: outputs.events ? avOnsetF1(outputs.events.audio, outputs.events.video, evaluators.info.dataset.unit) : null,
  };
}

function featureMetrics(outputs: ModalityOutputs, labels: Int32Array | null, reference: SampleSet): ModalityMetrics {
  const kid = kernelInceptionDistance(outputs.features, reference, { subsets: 20, subsetSize: 500, seed: 0 });
  return {
    accuracy: labels ? accuracy(outputs.predictions, labels) : null,
    ...confidenceMetrics(outputs.confidence),
    frechet: frechetFromSamples(outputs.features, reference),
    kid: { mean: kid.mean, std: kid.std },
  };
}

export function confidenceMetrics(confidence: Float32Array): { recognisable: number; meanConfidence: number } {
  let recognisable = 0;
  let sum = 0;
  for (const c of confidence) {
    if (c >= RECOGNISABLE_CONFIDENCE) recognisable++;
    sum += c;
  }
  const n = Math.max(confidence.length, 1);
  return { recognisable: recognisable / n, meanConfidence: sum / n };
}

/**
 * AV onset F1 of pairs (audio onsets of pair i against video contacts of pair i) with a tolerance of half a video
 * frame. Only onsets the video can show count: the video sees contacts between its first and last frame, so audio
 * onsets after the last frame are dropped. avOnsetF1 is the mean over pairs, avOnsetF1s each pair's.
 */
export function avOnsetF1(audioOnsets: number[][], videoContacts: number[][], unit: UnitSpec): number {
  return meanOnsetF1(visibleEvents(audioOnsets, videoContacts, unit), halfFrame(unit));
}

export function avOnsetF1s(audioOnsets: number[][], videoContacts: number[][], unit: UnitSpec): number[] {
  return visibleEvents(audioOnsets, videoContacts, unit).map((pair) => onsetF1(pair.audio, pair.video, halfFrame(unit)));
}

const halfFrame = (unit: UnitSpec) => 0.5 / unit.fps;

function visibleEvents(audioOnsets: number[][], videoContacts: number[][], unit: UnitSpec): { audio: number[]; video: number[] }[] {
  const lastFrame = (unit.frames - 1) / unit.fps;
  return audioOnsets.map((audio, i) => ({ audio: audio.filter((t) => t <= lastFrame), video: videoContacts[i] }));
}

/**
 * Mean of x_i − y_i over paired observations, with its standard error sd(x − y)/√n: how far one set's per-pair metric
 * is from another's when pair i of both started from the same noise, so that what the pairs share cancels.
 */
export function pairedDifference(x: ArrayLike<number>, y: ArrayLike<number>): { mean: number; stdErr: number } {
  if (x.length !== y.length) throw new Error(`pairedDifference: ${x.length} vs ${y.length} observations; pairs need the same count`);
  const n = x.length;
  if (n < 2) throw new Error(`pairedDifference: ${n} pair(s); a standard error needs at least 2`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (x[i] - y[i]) / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (x[i] - y[i] - mean) ** 2;
  return { mean, stdErr: Math.sqrt(squares / (n - 1) / n) };
}

export interface CalibrationReport {
  data: string;
  pairs: number;
  evaluators: string;
  dataset: string;
  /** Classifier accuracies on the real pairs. */
  accuracy: Record<Modality, number | null>;
  /** What generated pairs' recognisable fraction is read against (see RECOGNISABLE_CONFIDENCE). */
  recognisable: Record<Modality, number>;
  /** Real pairs as they are vs audio of one pair with the video of another (a seeded derangement). */
  classAgreement: { matched: number; shuffled: number };
  onsetF1: { matched: number; shuffled: number } | null;
  shuffleSeed: number;
}

/**
 * Matched vs shuffled pairs of a real set: a usable alignment metric must separate them clearly. Shuffling
 * pairs the audio of pair π(i) with the video of pair i; as each evaluator sees one modality only, this
 * permutes the audio-side outputs rather than re-running the classifiers.
 */
export function calibrate(outputs: DatasetOutputs, evaluators: EvaluatorSet, shuffleSeed = 0): CalibrationReport {
  if (outputs.pairs < 2) throw new Error(`calibrate: ${outputs.dir} holds ${outputs.pairs} pair(s); shuffling needs at least 2`);
  const partner = derangement(outputs.pairs, shuffleSeed);
  const shuffledAudio = Int32Array.from(partner, (j) => outputs.audio.predictions[j]);
  const events = outputs.events;
  const unit = evaluators.info.dataset.unit;
  return {
    data: outputs.dir,
    pairs: outputs.pairs,
    evaluators: evaluators.dir,
    dataset: evaluators.info.dataset.name,
    accuracy: {
      audio: outputs.labels ? accuracy(outputs.audio.predictions, outputs.labels) : null,
      video: outputs.labels ? accuracy(outputs.video.predictions, outputs.labels) : null,
    },
    recognisable: {
      audio: confidenceMetrics(outputs.audio.confidence).recognisable,
      video: confidenceMetrics(outputs.video.confidence).recognisable,
    },
    classAgreement: {
      matched: classAgreement(outputs.audio.predictions, outputs.video.predictions),
      shuffled: classAgreement(shuffledAudio, outputs.video.predictions),
    },
    onsetF1: events
      ? {
          matched: avOnsetF1(events.audio, events.video, unit),
          shuffled: avOnsetF1(Array.from(partner, (j) => events.audio[j]), events.video, unit),
        }
      : null,
    shuffleSeed,
  };
}

/** A seeded permutation with no fixed point: a random permutation, then each fixed point swapped with its successor. */
export function derangement(n: number, seed: number): Int32Array {
  const order = new Rng(seed).permutation(n);
  for (let i = 0; i < n; i++) {
    if (order[i] === i) {
      const j = (i + 1) % n;
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  return order;
}
