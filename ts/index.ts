/**
 * The public API of mmdisco (package.json `exports`): the pipeline's stages and pair sources, the config loaders and
 * schemas, the ground-floor types and the typed face of the native addon. Importing it loads the addon.
 *
 *   import { drawPairs, mixtureSource, native, sampleGuided, seedStreams, trainDiscriminator } from 'mmdisco';
 */

// The typed face of the native addon: `native` (models, trainers, samplers), `tensor` and their types.
export * from './native';

// Ground floor.
export { DATASET_NAMES, type DatasetName, CLASS_SPECS, MATERIALS, type Material } from './core/datasets';
export type { CoupledGaussianMixture, IsotropicComponents } from './core/mixture';
export { type Modality, MODALITIES, MODALITY_TENSORS, modalityTensor } from './core/modality';
export { denormalise, modelRange, type Normalisation, normalise } from './core/normalisation';
export { audioSamples, melFrames, PRESET_NAMES, type PresetName, PRESETS, resolveUnit, type UnitSpec, UnitSpecSchema } from './core/unit';
export { writeFileAtomic, writeJsonAtomic } from './core/atomicWrite';

// Configs: one zod schema per kind, loaded from JSON with key=value overrides and validated before work starts.
export { applyOverrides, ConfigError, loadConfig, validateConfig } from './config/load';
export { type BaseModelConfig, BaseModelConfigSchema } from './config/baseModel';
export { type GuidanceConfig, GuidanceConfigSchema } from './config/guidance';
export { type ToyConfig, toyConfigSchema } from './config/toy';
export { type ResultsConfig, ResultsConfigSchema } from './pipeline/results';

// The pipeline: stages on a pair source, named seed streams.
export { type MemoryPairs, type MemorySource, mixtureSource, type PairSource, rowsTensor, type ShardSource, shardSource, tensorSource } from './pipeline/source';
export { type SeedStream, type SeedStreams, seedStreams } from './pipeline/seeds';
export {
  type DiscriminatorRun, type DiscriminatorRunLog, drawPairs, type DrawPairsInMemory, type FinalDiscriminatorLog, sampleGuided,
  type SampleGuidedInMemory, trainBase, type TrainBaseOnShards, type TrainBasesInMemory, trainDiscriminator, type TrainDiscriminatorsInMemory,
} from './pipeline/stages';
export {
  compareResiduals, type CompareResidualsOptions, evaluate, type EvaluateInMemory, type EvaluateOnShards, type MemoryEvaluation, type ShardEvaluation,
} from './pipeline/evaluate';
export { type BuildRealPairs, markdownTable, type ResultsTable, runResults, type RunResultsOptions } from './pipeline/results';

// Data, evaluation and the toy problem.
export { type DatasetIndex, ShardReader, ShardWriter } from './data';
export { sampleMixture } from './eval/mixture';
export { mixtureCoupling } from './eval/mixtureCoupling';
export { type SampleSet, sampleSet } from './eval/samples';
export { slicedWasserstein } from './eval/slicedWasserstein';
export { loadEvaluators, type EvaluatorSet } from './eval/evaluators';
export { type PairSetMetrics } from './eval/pairMetrics';
export { toyMixture } from './toy/mixture';
export { runToy, type ToyReport } from './toy/run';
export { type Sampler, SAMPLERS } from './core/samplers';
export { Rng } from './util/random';
