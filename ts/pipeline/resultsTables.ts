/**
 * The paper's tables of a results run (ts/pipeline/results.ts), from its results.json and its training logs:
 * - main: the real test set, the independent one and each discriminator variant at its recommended setting (that of
 *   its highest alignment): fidelity per modality, alignment, and the guided set's alignment minus the independent
 *   set's, pair by pair (pair i of both starts from the same noise), ± the standard error of that mean;
 * - ablations: the variants side by side at one setting they share (the denoising loss, fusion and token layout
 *   ablations are variants of a config), and each variant's sweeps of λ, of the CFG scale and of the guidance
 *   interval around its recommended setting;
 * - cost: each discriminator's parameters as a share of the base models', its training pairs/s and wall time, and
 *   the sampling time per pair of guided against unguided sets, as the run timed them.
 * `results run` writes them into tables.md, `results report` into its page and, from the run's results.json, into
 * its own tables.md.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pairedDifference } from '../eval/pairMetrics';
import { GUIDANCE_FILES } from '../guidance/train';
import { fixed, signed } from '../util/format';
import { readJsonlLog } from '../util/progress';
import { guidanceRunDir, type ResultsTable, type Row } from './results';

export interface TableSpec {
  title: string;
  /** What the table shows, in a sentence or two. */
  caption: string;
  header: string[];
  rows: string[][];
}

/** A variant's training, summed over its invocations (a resumed run logs an `end` per invocation). */
export interface VariantTraining {
  steps: number;
  seconds: number;
  pairsPerSecond: number;
}

export interface PaperTables {
  main: TableSpec;
  ablations: TableSpec[];
  cost: TableSpec;
}

/** The training of each variant from the `end` entries of its log (variant → train-guidance log.jsonl); null where it logged none. */
export function variantTrainings(logs: Record<string, string>): Record<string, VariantTraining | null> {
  return Object.fromEntries(
    Object.entries(logs).map(([variant, file]) => {
      const ends = existsSync(file) ? readJsonlLog(file).filter((entry) => entry.event === 'end') : [];
      if (ends.length === 0) return [variant, null];
      const steps = ends.reduce((sum, end) => sum + Number(end.steps), 0);
      const seconds = ends.reduce((sum, end) => sum + Number(end.seconds), 0);
      const pairs = ends.reduce((sum, end) => sum + Number(end.pairsPerSecond) * Number(end.seconds), 0);
      return [variant, { steps, seconds, pairsPerSecond: pairs / seconds }];
    }),
  );
}

const both = (a: number | null, v: number | null, digits = 3): string => `${fixed(a, digits)} / ${fixed(v, digits)}`;

/** The dataset's alignment: AV onset F1 where it has sound events, else class agreement (as alignmentPerPair). */
export const alignmentOf = (row: Row): number => row.metrics.onsetF1 ?? row.metrics.classAgreement;

/** The name of alignmentOf for a set of rows: onset F1 where any row has sound events. */
export const alignmentName = (rows: Row[]): 'onset F1' | 'class agreement' =>
  rows.some((row) => row.metrics.onsetF1 !== null) ? 'onset F1' : 'class agreement';

/** A guided row's setting as its name gives it (λ=…, S=…, t∈[…]), or '—'. */
const settingOf = (row: Row): string => (row.variant ? row.name.slice(row.variant.length + 1) : '—');

/**
 * The CFG scale and guidance interval of a guided row as labels: from its fields, or for a table written before they
 * were kept, from its name (results.ts names a row "<variant> λ=… S=… t∈[…]").
 */
function cfgAndInterval(row: Row): { cfgScale: string | null; interval: string | null } {
  const fromName = (pattern: RegExp) => pattern.exec(row.name)?.[1] ?? null;
  return {
    cfgScale: row.cfgScale === undefined ? fromName(/ S=(\S+)/) : row.cfgScale === null ? null : JSON.stringify(row.cfgScale),
    interval: row.interval === undefined ? fromName(/ t∈\[(\d+,\d+)\]/) : row.interval === null ? null : row.interval.join(','),
  };
}

/** The three settings a guided row is sampled at, less `leave` (the one a sweep varies). */
const settingKey = (row: Row, leave?: 'lambda' | 'cfgScale' | 'interval'): string => {
  const { cfgScale, interval } = cfgAndInterval(row);
  return JSON.stringify({
    lambda: leave === 'lambda' ? undefined : row.lambda,
    cfgScale: leave === 'cfgScale' ? undefined : cfgScale,
    interval: leave === 'interval' ? undefined : interval,
  });
};

/**
 * The paired difference of a guided row's per-pair alignment to the independent set's; a table written before the
 * per-pair scores were kept has the onset F1 one only.
 */
function versusIndependent(row: Row, independent: Row | undefined): { mean: number; stdErr: number } | null {
  if (row.variant === null) return null;
  const [x, y] = [row.alignmentPerPair?.values, independent?.alignmentPerPair?.values];
  if (x && y && x.length === y.length && x.length >= 2) return pairedDifference(x, y);
  return row.onsetF1VsIndependent;
}

/** Each variant's row of highest alignment, in the table's order of variants. */
export function recommendedRows(rows: Row[]): Row[] {
  const best = new Map<string, Row>();
  for (const row of rows.filter((r) => r.variant !== null)) {
    const current = best.get(row.variant!);
    if (!current || alignmentOf(row) > alignmentOf(current)) best.set(row.variant!, row);
  }
  return [...best.values()];
}

export function paperTables(results: ResultsTable, trainings: Record<string, VariantTraining | null>): PaperTables {
  const rows = results.rows;
  const independent = rows.find((row) => row.name === 'independent');
  const unguided = rows.filter((row) => row.variant === null);
  const recommended = recommendedRows(rows);
  const alignment = alignmentName(rows);
  const withAccuracy = rows.some((row) => row.metrics.audio.accuracy !== null || row.metrics.video.accuracy !== null);
  const header = [
    'set', 'Fréchet a / v', 'KID a / v', 'recognisable a / v', ...(withAccuracy ? ['accuracy a / v'] : []), alignment, `${alignment} − independent`,
  ];
  const line = (row: Row): string[] => {
    const m = row.metrics;
    const difference = versusIndependent(row, independent);
    return [
      row.name,
      both(m.audio.frechet, m.video.frechet, 2),
      both(m.audio.kid.mean, m.video.kid.mean, 2),
      both(m.audio.recognisable, m.video.recognisable),
      ...(withAccuracy ? [both(m.audio.accuracy, m.video.accuracy)] : []),
      fixed(alignmentOf(row)),
      difference ? `${signed(difference.mean)} ± ${difference.stdErr.toFixed(3)}` : '—',
    ];
  };
  const main: TableSpec = {
    title: 'Main',
    caption:
      `Real test pairs, the base models sampled independently, and each discriminator variant at its recommended setting (its highest ${alignment}). ` +
      `${alignment} − independent: the mean over pairs of the guided pair's score minus that of the independent pair drawn from the same noise, ± its standard error.`,
    header,
    rows: [...unguided, ...recommended].map(line),
  };

  const ablations: TableSpec[] = [];
  // The setting the most variants were sampled at (the recommended ones' first on a tie).
  const variantsAt = new Map<string, Row[]>();
  for (const row of [...recommended, ...rows.filter((r) => r.variant !== null)]) {
    const at = variantsAt.get(settingKey(row)) ?? [];
    if (!at.some((r) => r.variant === row.variant)) variantsAt.set(settingKey(row), [...at, row]);
  }
  const shared = [...variantsAt.values()]
    .reduce<Row[]>((most, at) => (at.length > most.length ? at : most), [])
    .sort((a, b) => rows.indexOf(a) - rows.indexOf(b));
  if (shared.length >= 2) {
    ablations.push({
      title: `Variants at ${settingOf(shared[0])}`,
      caption: 'Every discriminator variant sampled at this setting, with the independent set: what changing the discriminator (its losses, fusion, token layout, inputs) does at equal guidance.',
      header,
      rows: [...(independent ? [independent] : []), ...shared].map(line),
    });
  }
  const sweeps = [
    { leave: 'lambda', name: 'λ' },
    { leave: 'cfgScale', name: 'CFG scale' },
    { leave: 'interval', name: 'guidance interval' },
  ] as const;
  for (const best of recommended) {
    for (const { leave, name } of sweeps) {
      const swept = rows.filter((row) => row.variant === best.variant && settingKey(row, leave) === settingKey(best, leave));
      if (swept.length < 2) continue;
      ablations.push({
        title: `${best.variant}: ${name}`,
        caption: `Variant ${best.variant} over its ${name}, its other settings those of its recommended row (${settingOf(best)}), with the independent set.`,
        header,
        rows: [...(independent ? [independent] : []), ...swept].map(line),
      });
    }
  }

  const perPair = (row: Row | undefined) => (row && row.seconds !== null ? row.seconds / row.metrics.pairs : null);
  const unguidedPerPair = perPair(independent);
  const cost: TableSpec = {
    title: 'Cost',
    caption:
      "Parameters against the two base models'; training as the variant's log records it; sampling seconds per pair of the independent set and of each variant's " +
      'recommended set, as this run timed them (media writing included), and their ratio.',
    header: ['model', 'parameters', 'share of the base models', 'training steps', 'training pairs/s', 'training wall s', 'sampling s per pair', '× unguided'],
    rows: [
      ['base models (audio + video)', results.baseParameters.toLocaleString('en'), '100 %', '—', '—', '—', fixed(unguidedPerPair), '1'],
      ...Object.entries(results.discriminators).map(([variant, d]) => {
        const training = trainings[variant] ?? null;
        const sampling = perPair(recommended.find((row) => row.variant === variant));
        return [
          `discriminator ${variant}`,
          d.parameters.toLocaleString('en'),
          `${(100 * d.fractionOfBases).toFixed(2)} %`,
          training ? String(training.steps) : '—',
          fixed(training?.pairsPerSecond, 1),
          fixed(training?.seconds, 1),
          fixed(sampling),
          sampling !== null && unguidedPerPair ? (sampling / unguidedPerPair).toFixed(2) : '—',
        ];
      }),
    ],
  };
  return { main, ablations, cost };
}

/** A table as Markdown: its title as a heading, the caption, then the table. */
export function markdownOf(spec: TableSpec): string {
  const cells = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [`### ${spec.title}`, '', spec.caption, '', cells(spec.header), cells(spec.header.map(() => '---')), ...spec.rows.map(cells), ''].join('\n');
}

/** Each variant's training log under a results run's work directory. */
export const trainingLogs = (work: string, variants: string[]): Record<string, string> =>
  Object.fromEntries(variants.map((variant) => [variant, path.join(work, guidanceRunDir(variant), GUIDANCE_FILES.log)]));

/** The paper's tables of a run, its discriminators' training read from their logs in `work`. */
export const paperTablesOfRun = (results: ResultsTable, work: string): PaperTables =>
  paperTables(results, variantTrainings(trainingLogs(work, Object.keys(results.discriminators))));

/** The paper's tables as Markdown, under a heading naming the run's config. */
export function paperTablesMarkdown(config: string, tables: PaperTables): string {
  return [`# The paper's tables: ${config}`, '', ...[tables.main, ...tables.ablations, tables.cost].map(markdownOf)].join('\n');
}
