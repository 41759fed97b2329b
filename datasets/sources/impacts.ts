import { dirname, join } from 'node:path';
import { MATERIALS } from '../../ts/core/datasets';
import { Bank, ClipRecipe, ensureBank, soxToBank } from './bank';

/**
 * Real recorded impact sounds (Sonic Pi samples, CC0, npm `supersonic-scsynth-samples`), one per material
 * class of the bouncing ball (MATERIALS, ts/core/datasets.ts). Decoded from FLAC with sox -R, leading silence
 * trimmed so the sample's attack sits at the contact time, peak normalised to -3 dBFS.
 */
export function samplesDir(): string {
  return join(dirname(require.resolve('supersonic-scsynth-samples/package.json')), 'samples');
}

function impactRecipes(sampleRate: number): ClipRecipe[] {
  return MATERIALS.map((m) => {
    const file = join(samplesDir(), `${m}.flac`);
    const effects = ['silence', '1', '0.001', '0.5%', 'gain', '-n', '-3'];
    return {
      id: m,
      facts: { material: m },
      // The package-relative name, not the absolute path: a cached bank stays valid wherever the checkout is.
      key: `supersonic-scsynth-samples/samples/${m}.flac ${effects.join(' ')}`,
      render: (out: string) => soxToBank(file, out, sampleRate, effects),
    };
  });
}

export function impactBank(sampleRate: number, cacheDir?: string, onBuild?: (dir: string, clips: number) => void): Promise<Bank> {
  return ensureBank('impacts', sampleRate, impactRecipes(sampleRate), cacheDir, onBuild);
}
