import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { runLimited, runTool } from '../../ts/media/process';
import { readWav } from '../../ts/media/wav';

/**
 * A bank of short mono clips rendered once by external tools (espeak-ng, flite, sox) into a cache directory
 * named by the hash of its recipe, so any change of recipe or sample rate builds a new bank. sox always runs
 * with -R (repeatable dither) and the speech tools in `renderEnvironment`, which makes the bank
 * byte-reproducible; every clip is rendered twice and a build whose two renders differ fails, so a tool that
 * turns nondeterministic is reported rather than shipped. The manifest lists each clip's sha256.
 */
export interface ClipRecipe {
  /** Unique within the bank; also the wav file name. */
  id: string;
  /** Free-form facts stored in the manifest (voice, label, source, ...). */
  facts: Record<string, string | number>;
  /** The commands that render the clip; `out` is the final 16-bit mono wav at the bank's rate. */
  render(out: string, scratch: string): Promise<void>;
  /** What the output depends on (tool arguments); hashed into the cache key. */
  key: string;
}

export interface BankManifest {
  name: string;
  sampleRate: number;
  /** sha256 over the clip hashes: identifies the bank's bytes. */
  digest: string;
  toolVersions: Record<string, string>;
  clips: { id: string; facts: Record<string, string | number>; sha256: string; samples: number }[];
}

export interface Bank {
  dir: string;
  manifest: BankManifest;
  audio: Map<string, Float32Array>;
}

// 2: every clip rendered twice and compared, espeak-ng with a runtime path of its own (a bank of format 1 may
// hold a clip rendered on a first run, see renderEnvironment).
const BANK_FORMAT = 2;

export function defaultCacheDir(): string {
  return resolve(process.env.MMDISCO_CACHE_DIR ?? '.cache');
}

/**
 * The environment of a speech tool rendering into `scratch`. espeak-ng draws its breath noise from the C
 * library's rand() with the default seed, and the PulseAudio client library it links calls rand() to name a
 * runtime directory when it finds none (the first run for a user on a machine, or after /tmp was cleaned):
 * that clip's noise, and so its samples, then differ. A runtime path of the clip's own keeps rand() to espeak-ng.
 */
export function renderEnvironment(scratch: string): NodeJS.ProcessEnv {
  return { ...process.env, PULSE_RUNTIME_PATH: join(scratch, 'pulse') };
}

/** The sox tail shared by all banks: resample to mono 16-bit at `rate`, then the given effects. */
export async function soxToBank(input: string, out: string, rate: number, effects: string[]): Promise<void> {
  await runTool('sox', ['-R', input, '-r', String(rate), '-c', '1', '-b', '16', out, ...effects]);
}

/** Debian package versions of the rendering tools, for provenance ('unknown' off Debian). */
async function toolVersions(): Promise<Record<string, string>> {
  const packages = ['sox', 'libsox-fmt-all', 'espeak-ng', 'flite', 'asterisk-core-sounds-en-wav'];
  try {
    const { stdout } = await runTool('dpkg-query', ['-W', '-f=${Package} ${Version}\n', ...packages]);
    return Object.fromEntries(stdout.toString().trim().split('\n').map((line) => line.split(' ') as [string, string]));
  } catch {
    return Object.fromEntries(packages.map((p) => [p, 'unknown']));
  }
}

const openBanks = new Map<string, Bank>();

/** Returns the bank, building it first if the cache lacks it. `onBuild` hears about a (slow) build. */
export async function ensureBank(
  name: string,
  sampleRate: number,
  recipes: ClipRecipe[],
  cacheDir = defaultCacheDir(),
  onBuild?: (dir: string, clips: number) => void,
): Promise<Bank> {
  const key = createHash('sha256')
    .update(JSON.stringify({ BANK_FORMAT, name, sampleRate, recipes: recipes.map((r) => [r.id, r.key]) }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, 'banks', `${name}-${sampleRate}-${key}`);
  const open = openBanks.get(dir);
  if (open) return open;
  if (!existsSync(join(dir, 'manifest.json'))) {
    onBuild?.(dir, recipes.length);
    await buildBank(dir, name, sampleRate, recipes);
  }
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BankManifest;
  const audio = new Map<string, Float32Array>();
  for (const clip of manifest.clips) {
    const wav = await readWav(join(dir, `${clip.id}.wav`));
    if (wav.sampleRate !== sampleRate) throw new Error(`${dir}/${clip.id}.wav: rate ${wav.sampleRate}, expected ${sampleRate}`);
    audio.set(clip.id, wav.samples);
  }
  const bank = { dir, manifest, audio };
  openBanks.set(dir, bank);
  return bank;
}

/** Renders one clip to `out` in a scratch directory of its own and returns its bytes. */
async function renderClip(recipe: ClipRecipe, out: string): Promise<Buffer> {
  const scratch = `${out}.scratch`;
  await mkdir(scratch);
  try {
    await recipe.render(out, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return readFile(out);
}

async function buildBank(dir: string, name: string, sampleRate: number, recipes: ClipRecipe[]): Promise<void> {
  await mkdir(join(dir, '..'), { recursive: true });
  // Build beside the final place and rename, so a concurrent or interrupted build never leaves half a bank.
  const staging = await mkdtemp(`${dir}.building-`);
  try {
    const limit = Math.max(2, cpus().length * 2);
    const clips = await runLimited(
      recipes.map((r) => async () => {
        const out = join(staging, `${r.id}.wav`);
        const bytes = await renderClip(r, out);
        const again = await renderClip(r, join(staging, `${r.id}.check.wav`));
        if (!bytes.equals(again)) {
          throw new Error(
            `bank ${name}: clip ${r.id} (${r.key}) rendered twice gives different samples: a rendering tool is not ` +
              `deterministic on this machine, so the bank would differ from everyone else's; not building it`,
          );
        }
        await rm(join(staging, `${r.id}.check.wav`));
        const samples = (await readWav(out)).samples.length;
        return { id: r.id, facts: r.facts, sha256: createHash('sha256').update(bytes).digest('hex'), samples };
      }),
      limit,
    );
    const digest = createHash('sha256').update(clips.map((c) => `${c.id}:${c.sha256}`).join('\n')).digest('hex');
    const manifest: BankManifest = { name, sampleRate, digest, toolVersions: await toolVersions(), clips };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 1));
    try {
      await rename(staging, dir);
    } catch (e) {
      if (!existsSync(join(dir, 'manifest.json'))) throw e;
      // Another process finished the same bank first; its bytes are identical.
      await rm(staging, { recursive: true, force: true });
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}
