/**
 * Evaluator classifiers: one per modality (log-mel → class, video → class), trained natively on a real
 * training set and stored as an evaluator directory:
 *
 *   evaluators.json       dataset, unit, classes, both networks (with the log-mel standardisation), test accuracy
 *   audio.safetensors     parameters of the audio classifier
 *   video.safetensors     parameters of the video classifier
 *   reference.safetensors penultimate features of the real test set (audio_features, video_features): the
 *                         reference of the Fréchet distance and KID of a generated set
 *
 * The class of a pair is its digit (`label`) for spoken-mnist and its material (`material_index`) for
 * bouncing-ball.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CLASS_SPECS } from '../core/datasets';
import { type Modality, MODALITIES, MODALITY_TENSORS } from '../core/modality';
import { UnitSpecSchema, type UnitSpec } from '../core/unit';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import { type DatasetIndex, readIndex, ShardReader, type TensorArray } from '../data';
import { type Classifier, type ClassifierNetwork, type MelAugmentation, type NamedTensors, native, type PlacementOptions, tensor, type Tensor } from '../native';
import { writeJsonAtomic } from '../core/atomicWrite';
import { accuracy } from './classAgreement';
import { sampleSet, type SampleSet } from './samples';
import { spectralFluxOnsets } from './spectralFluxOnsets';
import { videoContacts } from './videoContacts';

export const EVALUATORS_FILE = 'evaluators.json';
const PARAMETER_FILES = { audio: 'audio.safetensors', video: 'video.safetensors' } as const;
const REFERENCE_FILE = 'reference.safetensors';

/** Datasets whose pairs carry sound events at visible contacts: they get the AV onset F1. */
const ONSET_DATASETS = new Set(['bouncing-ball']);

const NetworkSchema = z
  .object({
    kind: z.enum(['mel-cnn', 'video-cnn']),
    inputShape: z.array(z.number().int().positive()),
    classes: z.number().int().min(2),
    width: z.number().int().positive(),
    featureDim: z.number().int().positive(),
    inputMean: z.number().optional(),
    inputStd: z.number().positive().optional(),
  })
  .strict();

const EvaluatorSchema = z.object({
  network: NetworkSchema,
  testAccuracy: z.number(),
  finalTrainLoss: z.number(),
});

const EvaluatorsFileSchema = z.object({
  format: z.literal('mmdisco-evaluators'),
  version: z.literal(1),
  dataset: z.object({
    name: z.string(),
    preset: z.string(),
    unit: UnitSpecSchema,
    classColumn: z.string(),
    classes: z.array(z.string()),
  }),
  audio: EvaluatorSchema,
  video: EvaluatorSchema,
  reference: z.object({ pairs: z.number().int().min(2), data: z.string() }),
  training: z.record(z.unknown()),
});

export type EvaluatorsFile = z.infer<typeof EvaluatorsFileSchema>;

/** A loaded evaluator directory: both classifiers ready to predict, and the real-test reference features. */
export interface EvaluatorSet {
  dir: string;
  info: EvaluatorsFile;
  classifiers: Record<Modality, Classifier>;
  reference: Record<Modality, SampleSet>;
}

/** An error in an evaluator directory, naming the directory and file. */
export class EvaluatorError extends Error {
  constructor(dir: string, file: string, problem: string) {
    super(`evaluators ${path.join(dir, file)}: ${problem}`);
    this.name = 'EvaluatorError';
  }
}

// ---- training ---------------------------------------------------------------------------------------------

export interface TrainEvaluatorsOptions {
  trainDir: string;
  testDir: string;
  outDir: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Channels of the first convolution of both networks. */
  width: number;
  featureDim: number;
  /** Log-mel augmentation of the audio classifier's training batches. */
  augmentation: MelAugmentation;
  /** Intra-op threads per classifier (the two train side by side). */
  threads?: number;
  /** Called after every training step of both classifiers. */
  onStep?: (step: number, totalSteps: number, losses: Record<Modality, number>) => void;
  /** Called once per streamed batch while computing features of a dataset (normalisation, test). */
  onPhase?: (phase: 'normalise' | 'train' | 'test', pairs: number) => void;
}

export interface TrainEvaluatorsResult {
  info: EvaluatorsFile;
  /** Per step losses of both classifiers. */
  losses: Record<Modality, number[]>;
}

/** Trains both classifiers on `trainDir`, measures them on `testDir`, and writes an evaluator directory. */
export async function trainEvaluators(opts: TrainEvaluatorsOptions): Promise<TrainEvaluatorsResult> {
  const trainIndex = readIndex(opts.trainDir);
  const testIndex = readIndex(opts.testDir);
  const name = trainIndex.dataset.name;
  const classSpec = CLASS_SPECS[name];
  if (!classSpec) throw new Error(`${opts.trainDir}: no evaluators are defined for dataset '${name}' (known: ${Object.keys(CLASS_SPECS).join(', ')})`);
  if (trainIndex.dataset.split !== 'train') throw new Error(`${opts.trainDir}: --data must be a train split, this is '${trainIndex.dataset.split}'`);
  if (testIndex.dataset.name !== name || testIndex.dataset.split !== 'test') {
    throw new Error(`${opts.testDir}: --test must be the test split of ${name}, this is ${testIndex.dataset.name}/${testIndex.dataset.split}`);
  }
  const unit = UnitSpecSchema.parse(trainIndex.dataset.provenance.unit);
  const shapes = inputShapes(trainIndex);
  checkInputs(opts.testDir, testIndex, shapes);

  const { mean, std } = await logMelMoments(opts.trainDir, (pairs) => opts.onPhase?.('normalise', pairs));
  const networks: Record<Modality, ClassifierNetwork> = {
    audio: { kind: 'mel-cnn', inputShape: shapes.audio, classes: classSpec.names.length, width: opts.width, featureDim: opts.featureDim, inputMean: mean, inputStd: std },
    video: { kind: 'video-cnn', inputShape: shapes.video, classes: classSpec.names.length, width: opts.width, featureDim: opts.featureDim },
  };
  const placement: PlacementOptions = { threads: opts.threads ?? 1, seed: opts.seed };
  const classifiers = {
    audio: new native.Classifier({ ...placement, network: networks.audio, optimizer: { lr: opts.lr }, augmentation: opts.augmentation }),
    video: new native.Classifier({ ...placement, seed: opts.seed + 1, network: networks.video, optimizer: { lr: opts.lr } }),
  };

  const reader = new ShardReader(opts.trainDir, { batchSize: opts.batchSize, seed: opts.seed, dropLast: true });
  const totalSteps = opts.epochs * reader.batchCount(0);
  if (totalSteps === 0) throw new Error(`${opts.trainDir}: ${trainIndex.pairs} pairs make no full batch of ${opts.batchSize}`);
  const losses: Record<Modality, number[]> = { audio: [], video: [] };
  const started = Date.now();
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for await (const batch of reader.epoch(epoch)) {
      const labels = classLabels(batch.meta[classSpec.column], opts.trainDir, classSpec.column);
      const [a, v] = await Promise.all(
        MODALITIES.map((m) => classifiers[m].trainSteps(inputTensor(batch.tensors[MODALITY_TENSORS[m]], shapes[m]), labels, opts.batchSize)),
      );
      losses.audio.push(a.losses.data[0]);
      losses.video.push(v.losses.data[0]);
      opts.onStep?.(losses.audio.length, totalSteps, { audio: a.losses.data[0], video: v.losses.data[0] });
    }
  }
  const trainSeconds = (Date.now() - started) / 1000;

  const test = await classifyDataset(classifiers, opts.testDir, testIndex, shapes, { classColumn: classSpec.column, onBatch: (pairs) => opts.onPhase?.('test', pairs) });
  const finalLoss = (values: number[]) => values.slice(-Math.min(20, values.length)).reduce((s, x) => s + x, 0) / Math.min(20, values.length);
  const info: EvaluatorsFile = {
    format: 'mmdisco-evaluators',
    version: 1,
    dataset: { name, preset: trainIndex.dataset.preset, unit, classColumn: classSpec.column, classes: classSpec.names },
    audio: { network: networks.audio as EvaluatorsFile['audio']['network'], testAccuracy: accuracy(test.audio.predictions, test.labels!), finalTrainLoss: finalLoss(losses.audio) },
    video: { network: networks.video as EvaluatorsFile['video']['network'], testAccuracy: accuracy(test.video.predictions, test.labels!), finalTrainLoss: finalLoss(losses.video) },
    reference: { pairs: testIndex.pairs, data: describeData(testIndex) },
    training: {
      data: describeData(trainIndex),
      pairs: trainIndex.pairs,
      epochs: opts.epochs,
      steps: totalSteps,
      batchSize: opts.batchSize,
      lr: opts.lr,
      seed: opts.seed,
      audioAugmentation: opts.augmentation,
      seconds: Math.round(trainSeconds * 10) / 10,
    },
  };
  mkdirSync(opts.outDir, { recursive: true });
  for (const m of MODALITIES) await writeSafetensors(path.join(opts.outDir, PARAMETER_FILES[m]), await classifiers[m].parameters());
  await writeSafetensors(path.join(opts.outDir, REFERENCE_FILE), {
    audio_features: tensor(test.audio.features.data as Float32Array, [test.pairs, test.audio.features.dim]),
    video_features: tensor(test.video.features.data as Float32Array, [test.pairs, test.video.features.dim]),
  });
  await writeJsonAtomic(path.join(opts.outDir, EVALUATORS_FILE), info);
  return { info, losses };
}

/** Scalar mean and standard deviation of every log-mel value of a dataset (the audio network's standardisation). */
async function logMelMoments(dir: string, onBatch: (pairs: number) => void): Promise<{ mean: number; std: number }> {
  let count = 0;
  let sum = 0;
  let sumSquares = 0;
  for await (const batch of new ShardReader(dir, { batchSize: 256, seed: 0, shuffle: false }).epoch(0)) {
    const mel = batch.tensors.audio_mel;
    for (let i = 0; i < mel.length; i++) {
      sum += mel[i];
      sumSquares += mel[i] * mel[i];
    }
    count += mel.length;
    onBatch(batch.indices.length);
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(sumSquares / count - mean * mean, 1e-12)) };
}

function describeData(index: DatasetIndex): string {
  const d = index.dataset;
  return `${d.name} split ${d.split} preset ${d.preset} seed ${d.seed}, ${index.pairs} pairs`;
}

// ---- loading ----------------------------------------------------------------------------------------------

/** Loads an evaluator directory; every problem is an EvaluatorError naming the directory and file. */
export async function loadEvaluators(dir: string, placement: PlacementOptions = {}): Promise<EvaluatorSet> {
  if (!existsSync(dir)) throw new EvaluatorError(dir, '', 'no such directory (make one with mmdisco eval train-evaluators)');
  const jsonFile = path.join(dir, EVALUATORS_FILE);
  if (!existsSync(jsonFile)) throw new EvaluatorError(dir, EVALUATORS_FILE, 'missing: not an evaluator directory (make one with mmdisco eval train-evaluators)');
  let info: EvaluatorsFile;
  try {
    const parsed = EvaluatorsFileSchema.safeParse(JSON.parse(readFileSync(jsonFile, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`field '${issue.path.join('.')}': ${issue.message}`);
    }
    info = parsed.data;
  } catch (err) {
    throw new EvaluatorError(dir, EVALUATORS_FILE, (err as Error).message);
  }
  const classifiers = {} as Record<Modality, Classifier>;
  for (const m of MODALITIES) {
    const file = PARAMETER_FILES[m];
    const parameters = readEvaluatorTensors(dir, file);
    try {
      classifiers[m] = new native.Classifier({ ...placement, network: info[m].network });
      await classifiers[m].loadParameters(parameters as NamedTensors);
    } catch (err) {
      throw new EvaluatorError(dir, file, `does not fit the ${m} network of ${EVALUATORS_FILE}: ${(err as Error).message}`);
    }
  }
  const referenceTensors = readEvaluatorTensors(dir, REFERENCE_FILE);
  const reference = {} as Record<Modality, SampleSet>;
  for (const m of MODALITIES) {
    const features = referenceTensors[`${m}_features`];
    if (!features || features.shape.length !== 2 || features.shape[1] !== info[m].network.featureDim) {
      throw new EvaluatorError(dir, REFERENCE_FILE, `needs ${m}_features of shape (pairs, ${info[m].network.featureDim})`);
    }
    reference[m] = sampleSet(features.data as Float32Array, features.shape[0], features.shape[1]);
  }
  return { dir, info, classifiers, reference };
}

function readEvaluatorTensors(dir: string, file: string) {
  const full = path.join(dir, file);
  if (!existsSync(full)) throw new EvaluatorError(dir, file, 'missing');
  try {
    return readSafetensors(full).tensors;
  } catch (err) {
    throw new EvaluatorError(dir, file, (err as Error).message);
  }
}

// ---- classifying a dataset -------------------------------------------------------------------------------

export interface ModalityOutputs {
  /** argmax class per pair. */
  predictions: Int32Array;
  /** The classifier's probability of that class (max softmax) per pair. */
  confidence: Float32Array;
  /** Penultimate features, pairs × featureDim. */
  features: SampleSet;
}

export interface DatasetOutputs {
  dir: string;
  pairs: number;
  /** The class of each pair from the dataset's class column; null when the set has no such column. */
  labels: Int32Array | null;
  audio: ModalityOutputs;
  video: ModalityOutputs;
  /**
   * Per pair, for datasets with sound events at visible contacts: audio onsets (spectral flux on the log-mel)
   * and video contacts (velocity reversals of the object), seconds from the first frame. null otherwise.
   */
  events: { audio: number[][]; video: number[][] } | null;
}

/**
 * Runs both evaluators over every pair of a dataset directory (real or generated, in the shard format with
 * the evaluators' unit), in pair order, and detects the sound events and visible contacts of each pair.
 */
export async function evaluateDataset(set: EvaluatorSet, dir: string, onBatch?: (pairs: number) => void): Promise<DatasetOutputs> {
  const index = readIndex(dir);
  const expected = { audio: set.info.audio.network.inputShape, video: set.info.video.network.inputShape };
  checkInputs(dir, index, expected);
  if (index.dataset.name !== set.info.dataset.name) {
    throw new Error(`${dir}: dataset '${index.dataset.name}' does not match the evaluators of ${set.dir} ('${set.info.dataset.name}')`);
  }
  const unit = set.info.dataset.unit;
  const classColumn = index.meta.some((m) => m.name === set.info.dataset.classColumn) ? set.info.dataset.classColumn : undefined;
  return classifyDataset(set.classifiers, dir, index, expected, {
    classColumn,
    events: ONSET_DATASETS.has(set.info.dataset.name) ? unit : undefined,
    onBatch,
  });
}

async function classifyDataset(
  classifiers: Record<Modality, Classifier>,
  dir: string,
  index: DatasetIndex,
  shapes: Record<Modality, number[]>,
  opts: { classColumn?: string; events?: UnitSpec; onBatch?: (pairs: number) => void },
): Promise<DatasetOutputs> {
  const pairs = index.pairs;
  const labels = opts.classColumn ? new Int32Array(pairs) : null;
  const outputs = {} as Record<Modality, { predictions: Int32Array; confidence: Float32Array; features: Float32Array | null; dim: number }>;
  for (const m of MODALITIES) outputs[m] = { predictions: new Int32Array(pairs), confidence: new Float32Array(pairs), features: null, dim: 0 };
  const events = opts.events ? { audio: new Array<number[]>(pairs), video: new Array<number[]>(pairs) } : null;
  for await (const batch of new ShardReader(dir, { batchSize: 128, seed: 0, shuffle: false }).epoch(0)) {
    const n = batch.indices.length;
    const results = await Promise.all(MODALITIES.map((m) => classifiers[m].predict(inputTensor(batch.tensors[MODALITY_TENSORS[m]], shapes[m]))));
    MODALITIES.forEach((m, k) => {
      const { logits, features } = results[k];
      const out = outputs[m];
      if (!out.features) {
        out.dim = features.shape[1];
        out.features = new Float32Array(pairs * out.dim);
      }
      const classes = logits.shape[1];
      batch.indices.forEach((id, row) => {
        out.predictions[id] = argmax(logits.data, row * classes, classes);
        out.confidence[id] = maxSoftmax(logits.data, row * classes, classes);
        out.features!.set(features.data.subarray(row * out.dim, (row + 1) * out.dim), id * out.dim);
      });
    });
    if (labels) {
      const column = classLabels(batch.meta[opts.classColumn!], dir, opts.classColumn!).data;
      batch.indices.forEach((id, row) => (labels[id] = column[row]));
    }
    if (events && opts.events) {
      const unit = opts.events;
      const [frames, bins] = shapes.audio;
      const [f, c, h, w] = shapes.video;
      const mel = batch.tensors.audio_mel as Float32Array;
      const video = batch.tensors.video;
      batch.indices.forEach((id, row) => {
        events.audio[id] = spectralFluxOnsets(mel.subarray(row * frames * bins, (row + 1) * frames * bins), frames, bins, {
          hopSeconds: unit.hop / unit.sampleRate,
        });
        const clip = video.subarray(row * f * c * h * w, (row + 1) * f * c * h * w) as Uint8Array | Float32Array;
        events.video[id] = videoContacts({ frames: f, channels: c, height: h, width: w, data: clip }, { fps: unit.fps });
      });
    }
    opts.onBatch?.(n);
  }
  const modality = (m: Modality): ModalityOutputs => ({
    predictions: outputs[m].predictions,
    confidence: outputs[m].confidence,
    features: sampleSet(outputs[m].features ?? new Float32Array(0), pairs, outputs[m].dim),
  });
  return { dir, pairs, labels, audio: modality('audio'), video: modality('video'), events };
}

// ---- helpers ----------------------------------------------------------------------------------------------

function inputShapes(index: DatasetIndex): Record<Modality, number[]> {
  const shapeOf = (name: string) => {
    const spec = index.tensors.find((t) => t.name === name);
    if (!spec) throw new Error(`dataset ${index.dataset.name}: no '${name}' tensor`);
    return spec.shape;
  };
  return { audio: shapeOf(MODALITY_TENSORS.audio), video: shapeOf(MODALITY_TENSORS.video) };
}

/** The evaluators read audio_mel as float32 and video as uint8 or float32, with the shapes they were trained on. */
function checkInputs(dir: string, index: DatasetIndex, expected: Record<Modality, number[]>): void {
  for (const m of MODALITIES) {
    const name = MODALITY_TENSORS[m];
    const spec = index.tensors.find((t) => t.name === name);
    const allowed = m === 'audio' ? ['float32'] : ['uint8', 'float32'];
    if (!spec) throw new Error(`${dir}: no '${name}' tensor, which the ${m} evaluator reads`);
    if (!allowed.includes(spec.dtype)) throw new Error(`${dir}: tensor '${name}' is ${spec.dtype}, the ${m} evaluator reads ${allowed.join(' or ')}`);
    if (spec.shape.join(',') !== expected[m].join(',')) {
      throw new Error(`${dir}: tensor '${name}' has shape [${spec.shape}], the ${m} evaluator was trained on [${expected[m]}]`);
    }
  }
}

function inputTensor(data: TensorArray, shape: number[]): Tensor<Float32Array | Uint8Array> {
  if (!(data instanceof Float32Array || data instanceof Uint8Array)) throw new Error(`evaluator input must be float32 or uint8, got ${data.constructor.name}`);
  return tensor(data, [data.length / shape.reduce((a, b) => a * b, 1), ...shape]);
}

function classLabels(values: unknown[] | undefined, dir: string, column: string): Tensor<Int32Array> {
  if (!values) throw new Error(`${dir}: no meta column '${column}' (the class of each pair)`);
  const data = Int32Array.from(values, (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${dir}: meta '${column}' holds ${String(v)}, not a class index`);
    return v;
  });
  return tensor(data, [data.length]);
}

/** The largest softmax probability of one row of logits (the winning class's probability), computed stably. */
function maxSoftmax(values: Float32Array, offset: number, count: number): number {
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, values[offset + k]);
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(values[offset + k] - max);
  return 1 / sum;
}

function argmax(values: Float32Array, offset: number, count: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
