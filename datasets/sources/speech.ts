import { join } from 'node:path';
import { runTool } from '../../ts/media/process';
import { Bank, ClipRecipe, ensureBank, renderEnvironment, soxToBank } from './bank';
import { Split } from './mnist';

/**
 * Spoken digits 0–9 from three kinds of source. Train and test use disjoint voices: the real recorded
 * speaker (Asterisk's Allison) and one espeak-ng and one flite voice are held out for test, so a test score
 * measures generalisation to unseen speakers.
 */
export type SpeechKind = 'allison' | 'espeak' | 'flite';

export interface Voice {
  kind: SpeechKind;
  /** espeak-ng voice (e.g. en-us+f3), flite voice (e.g. slt), or 'allison'. */
  name: string;
  split: Split;
}

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
export const ALLISON_DIGITS_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison/digits';

export const VOICES: readonly Voice[] = [
  { kind: 'espeak', name: 'en-us+f3', split: 'train' },
  { kind: 'espeak', name: 'en-gb+m3', split: 'train' },
  { kind: 'espeak', name: 'en-us+klatt4', split: 'train' },
  { kind: 'espeak', name: 'en-029+m7', split: 'test' },
  { kind: 'flite', name: 'kal16', split: 'train' },
  { kind: 'flite', name: 'slt', split: 'train' },
  { kind: 'flite', name: 'rms', split: 'test' },
  { kind: 'allison', name: 'allison', split: 'test' },
];

/** espeak-ng variations per voice: pitch (-p) × speed (-s, words per minute). */
export const ESPEAK_PITCHES = [35, 65];
export const ESPEAK_SPEEDS = [140, 180];

/** Trim silence at both ends, normalise the peak to -3 dBFS. */
const TRIM_AND_NORMALISE = ['silence', '1', '0.01', '0.5%', 'reverse', 'silence', '1', '0.01', '0.5%', 'reverse', 'gain', '-n', '-3'];

export interface SpeechClipFacts {
  kind: SpeechKind;
  voice: string;
  /** Voice plus its variation, e.g. espeak:en-us+f3:p35:s140 — the `voice` of a pair's metadata. */
  variant: string;
  digit: number;
}

export function speechRecipes(sampleRate: number): ClipRecipe[] {
  const recipes: ClipRecipe[] = [];
  const add = (facts: SpeechClipFacts, key: string, render: ClipRecipe['render']): void => {
    recipes.push({ id: `${facts.variant.replace(/[^a-zA-Z0-9]+/g, '_')}_${facts.digit}`, facts: { ...facts }, key, render });
  };
  for (const v of VOICES) {
    for (let digit = 0; digit < 10; digit++) {
      const word = DIGIT_WORDS[digit];
      if (v.kind === 'espeak') {
        for (const p of ESPEAK_PITCHES) {
          for (const s of ESPEAK_SPEEDS) {
            const args = ['-v', v.name, '-p', String(p), '-s', String(s)];
            add({ kind: 'espeak', voice: v.name, variant: `espeak:${v.name}:p${p}:s${s}`, digit }, `espeak-ng ${args.join(' ')} ${word}`, async (out, scratch) => {
              const raw = join(scratch, 'raw.wav');
              await runTool('espeak-ng', [...args, '-w', raw, word], { env: renderEnvironment(scratch) });
              await soxToBank(raw, out, sampleRate, TRIM_AND_NORMALISE);
            });
          }
        }
      } else if (v.kind === 'flite') {
        add({ kind: 'flite', voice: v.name, variant: `flite:${v.name}`, digit }, `flite -voice ${v.name} -t ${word}`, async (out, scratch) => {
          const raw = join(scratch, 'raw.wav');
          await runTool('flite', ['-voice', v.name, '-t', word, '-o', raw], { env: renderEnvironment(scratch) });
          await soxToBank(raw, out, sampleRate, TRIM_AND_NORMALISE);
        });
      } else {
        const file = join(ALLISON_DIGITS_DIR, `${digit}.wav`);
        add({ kind: 'allison', voice: v.name, variant: 'allison', digit }, `asterisk ${file}`, (out) =>
          soxToBank(file, out, sampleRate, TRIM_AND_NORMALISE),
        );
      }
    }
  }
  return recipes;
}

export function speechBank(sampleRate: number, cacheDir?: string, onBuild?: (dir: string, clips: number) => void): Promise<Bank> {
  return ensureBank('speech', sampleRate, speechRecipes(sampleRate), cacheDir, onBuild);
}

/** The bank's clips of one split, grouped kind → variant → digit → clip id, for stratified draws. */
export interface SpeechIndex {
  kinds: SpeechKind[];
  variants: Map<SpeechKind, string[]>;
  clipOf: Map<string, string[]>;
}

export function indexSpeech(bank: Bank, split: Split): SpeechIndex {
  const voices = new Set(VOICES.filter((v) => v.split === split).map((v) => `${v.kind}:${v.name}`));
  const variants = new Map<SpeechKind, string[]>();
  const clipOf = new Map<string, string[]>();
  for (const clip of bank.manifest.clips) {
    const f = clip.facts as unknown as SpeechClipFacts;
    if (!voices.has(`${f.kind}:${f.voice}`)) continue;
    const list = variants.get(f.kind) ?? [];
    if (!list.includes(f.variant)) list.push(f.variant);
    variants.set(f.kind, list);
    const byDigit = clipOf.get(f.variant) ?? new Array<string>(10);
    byDigit[f.digit] = clip.id;
    clipOf.set(f.variant, byDigit);
  }
  const kinds = [...variants.keys()];
  if (kinds.length === 0) throw new Error(`speech bank ${bank.dir} has no voices for split ${split}`);
  return { kinds, variants, clipOf };
}
