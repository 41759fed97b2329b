/**
 * Text-embedding conditions of a text-conditioned discriminator (the released modules: token-mean text embeddings
 * of the base models' own text encoders, e.g. 768 / 512 dims for AnimateDiff / AudioLDM). The embeddings come from
 * a safetensors file with one tensor per modality and prompt, named `audio/<prompt>` and `video/<prompt>` (the two
 * text encoders differ in width); each is (d) or (tokens, d), a token sequence being averaged as the released
 * discriminator does. The unconditional branch of the residual CFG is the empty prompt, `audio/` and `video/`,
 * unless another name is given.
 */
import { ConfigError } from '../config/load';
import { readSafetensors } from '../checkpoint/safetensors';
import { type CfgScales, type Conditioning, type SampleOptions, tensor } from '../native';
import { cfgConditions } from './conditioning';

export interface PromptEmbedding {
  name: string;
  audio: Float32Array;
  video: Float32Array;
}

/** Pair i guided toward prompts[i mod prompts.length], residual CFG against nullPrompt at cfgScales. */
export interface PromptGuidance {
  prompts: PromptEmbedding[];
  nullPrompt: PromptEmbedding;
  cfgScales: CfgScales;
}

/**
 * The reader of the prompt embeddings in `file` (`label` names it in errors: the flag or the config field that gave
 * it): each prompt's per-modality vector, checked against the discriminator's text widths, errors naming the prompt
 * as `flag` does.
 */
export function promptEmbeddings(file: string, label: string, dims: { audio: number; video: number }): (name: string, flag: string) => PromptEmbedding {
  let tensors: ReturnType<typeof readSafetensors>['tensors'];
  try {
    ({ tensors } = readSafetensors(file));
  } catch (error) {
    throw new ConfigError(`${label} ${file}: ${(error as Error).message}`);
  }
  return (name, flag) => {
    const vector = (modality: 'audio' | 'video'): Float32Array => {
      const key = `${modality}/${name}`;
      const t = tensors[key];
      if (!t) throw new ConfigError(`${flag} '${name}': ${file} holds no tensor '${key}'`);
      const d = t.shape[t.shape.length - 1];
      if ((t.shape.length !== 1 && t.shape.length !== 2) || d !== dims[modality]) {
        throw new ConfigError(`${flag} '${name}': '${key}' in ${file} has shape [${t.shape}], expected [${dims[modality]}] or [tokens, ${dims[modality]}] (the discriminator's ${modality} text width)`);
      }
      const tokens = t.shape.length === 2 ? t.shape[0] : 1;
      const mean = new Float32Array(d);
      for (let k = 0; k < tokens; k++) for (let j = 0; j < d; j++) mean[j] += Number(t.data[k * d + j]) / tokens;
      if (!mean.every(Number.isFinite)) throw new ConfigError(`${flag} '${name}': '${key}' in ${file} holds a NaN or infinity`);
      return mean;
    };
    return { name, audio: vector('audio'), video: vector('video') };
  };
}

/** The named prompts' embeddings in `file`, checked against the discriminator's text widths; errors name the prompt. */
export function readPrompts(file: string, names: string[], nullName: string, dims: { audio: number; video: number }): { prompts: PromptEmbedding[]; nullPrompt: PromptEmbedding } {
  const embedding = promptEmbeddings(file, '--prompts', dims);
  if (names.length === 0) throw new ConfigError(`--prompts ${file}: give at least one --prompt`);
  return { prompts: names.map((name) => embedding(name, '--prompt')), nullPrompt: embedding(nullName, '--null-prompt') };
}

/** The prompt pair `index` is guided toward. */
export function targetPrompt(guidance: PromptGuidance, index: number): PromptEmbedding {
  return guidance.prompts[index % guidance.prompts.length];
}

function promptRows(rows: PromptEmbedding[]): Conditioning {
  const stack = (modality: 'audio' | 'video'): Float32Array => {
    const d = rows[0][modality].length;
    const out = new Float32Array(rows.length * d);
    rows.forEach((row, i) => out.set(row[modality], i * d));
    return out;
  };
  return { audio: tensor(stack('audio'), [rows.length, rows[0].audio.length]), video: tensor(stack('video'), [rows.length, rows[0].video.length]) };
}

/** The `condition` and `cfg` options of native.sample for pairs first … first + n − 1. */
export function promptSamplingConditions(guidance: PromptGuidance, first: number, n: number): Pick<SampleOptions, 'condition' | 'cfg'> {
  const indices = Array.from({ length: n }, (_, i) => first + i);
  return cfgConditions(
    promptRows(indices.map((i) => targetPrompt(guidance, i))),
    promptRows(indices.map(() => guidance.nullPrompt)),
    guidance.cfgScales,
  );
}
