/**
 * What the rest of the project knows of the datasets that datasets/ builds: their names, the split names, and where
 * a pair's class lives. The builders themselves (datasets/) import these; nothing here imports them.
 */

/** The datasets `mmdisco data build` makes (datasets/README.md). */
export const DATASET_NAMES = ['spoken-mnist', 'bouncing-ball'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/**
 * The material classes of the bouncing ball, one real recorded impact sound each (Sonic Pi samples,
 * datasets/sources/impacts.ts); a pair's `material_index` indexes this list.
 */
export const MATERIALS = [
  'drum_tom_lo_hard',
  'elec_wood',
  'drum_cowbell',
  'drum_snare_hard',
  'perc_impact1',
  'tabla_na',
  'drum_bass_hard',
  'perc_snap',
] as const;

export type Material = (typeof MATERIALS)[number];

/** Which meta column holds the class of a pair, and the class names, per dataset. */
export const CLASS_SPECS: Readonly<Record<string, { column: string; names: string[] }>> = {
  'spoken-mnist': { column: 'label', names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  'bouncing-ball': { column: 'material_index', names: [...MATERIALS] },
};
