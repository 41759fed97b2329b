/**
 * The page of `mmdisco results report` (index.html): the paper's tables (main, ablations, cost:
 * ts/pipeline/resultsTables.ts) and every set's metrics, plots of the λ sweep, of the distribution of the
 * per-pair alignment score of each set, of each discriminator's training and of its probe (the logit drop against
 * t), a gallery per sample set (its contact sheets and, where it has them, its mp4s) and provenance.
 *
 * The plots are PNGs drawn here on the server side by ts/report (lineChart.ts on @napi-rs/canvas), and every asset is
 * copied under the report directory and linked by a relative path: the page runs no script, loads nothing from the
 * network and works opened from file://.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GUIDANCE_FILES } from '../guidance/train';
import { GUIDANCE_RUN_PREFIX, guidanceRunDir, probeFile, type ProbeRecord, type ResultsTable, type Row } from './results';
import { html, type Html, page, table } from '../report/html';
import { readJsonlLog } from '../util/progress';
import { type PaperTables, recommendedRows, type TableSpec } from './resultsTables';
import { type LineSeries, writeLineChart } from '../report/lineChart';

export interface ResultsReportInput {
  work: string;
  out: string;
  /** The paper's tables of `results` (ts/pipeline/resultsTables.ts), null with it. */
  paperTables: PaperTables | null;
  /** The tables of the run, null when it has not reached them. */
  results: ResultsTable | null;
  /** What the run lacks for the tables. */
  missing: string[];
  /** Rows of the provenance table (commit, machine, command, …). */
  provenance: [string, string][];
}

const PLOT_SIZE = { width: 480, height: 300 };
const MARKED_POINTS = 40;

/** Numeric leaves of a metrics object under dotted keys (nested per modality). */
function flatten(value: unknown, prefix = ''): Record<string, number | null> {
  if (value === null || typeof value !== 'object') return { [prefix]: typeof value === 'number' ? value : null };
  return Object.assign({}, ...Object.entries(value).map(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key)));
}

const cell = (value: number | null | undefined): string => (typeof value === 'number' ? value.toPrecision(4) : '—');

interface Plot {
  /** Path relative to the report directory. */
  src: string;
  title: string;
  /** Under the figure, when it needs more than its title. */
  caption?: string;
}

/**
 * One chart per metric of the table against λ: a line per variant (and per CFG scale or guidance interval it
 * sweeps), the independent set as a dashed level. Rows with a λ per modality have no single λ to plot against.
 */
async function sweepPlots(results: ResultsTable, out: string): Promise<Plot[]> {
  const guided = results.rows.filter((row): row is Row & { variant: string; lambda: number } => row.variant !== null && typeof row.lambda === 'number');
  if (guided.length === 0) return [];
  // A row is named "<variant> λ=<λ><settings>" (ts/pipeline/results.ts); the line is the variant with its settings.
  const lineOf = (row: Row & { variant: string }) => row.variant + row.name.slice(row.variant.length + 1).replace(/^λ=\S+/, '');
  const lines = [...new Set(guided.map(lineOf))];
  const independent = results.rows.find((row) => row.name === 'independent');
  const maxLambda = Math.max(...guided.map((row) => row.lambda));
  const values = (row: Row) => flatten(row.metrics);
  const metrics = [...new Set(guided.flatMap((row) => Object.keys(values(row))))].filter((metric) => metric !== 'pairs');
  const plots: Plot[] = [];
  for (const metric of metrics) {
    const series: LineSeries[] = lines.map((line) => {
      const points = guided.filter((row) => lineOf(row) === line).sort((a, b) => a.lambda - b.lambda);
      return { name: line, x: points.map((row) => row.lambda), y: points.map((row) => values(row)[metric] ?? NaN) };
    });
    if (!series.some((s) => Array.from(s.y).some(Number.isFinite))) continue;
    const level = independent ? values(independent)[metric] : null;
    // Independent sampling is guidance with λ = 0: its level spans the axis from there.
    if (typeof level === 'number') series.push({ name: 'independent', x: [0, maxLambda], y: [level, level], dashed: true });
    const src = path.posix.join('plots', `sweep-${metric}.png`);
    await writeLineChart(path.join(out, src), { series, xLabel: 'λ', yLabel: metric, title: `${metric} against λ`, markers: true, ...PLOT_SIZE });
    plots.push({ src, title: `${metric} against λ` });
  }
  return plots;
}

/** The per-pair scores' names in the plots, by the metric whose mean they are. */
const PER_PAIR_LABELS: Record<NonNullable<Row['alignmentPerPair']>['metric'], string> = {
  onsetF1: 'onset F1 per pair',
  classAgreement: 'class agreement per pair',
};

/** How far the CDF's line runs beyond [0, 1], so that jumps at 0 and 1 (all of a 0/1 score's) show clear of the axes. */
const CDF_MARGIN = 0.05;

/**
 * The empirical CDF of scores in [0, 1] as the corners of its step line: the fraction of values ≤ x, from 0 below
 * the scores to 1 above them.
 */
export function empiricalCdf(values: readonly number[]): { x: number[]; y: number[] } {
  const sorted = [...values].sort((a, b) => a - b);
  const x = [-CDF_MARGIN];
  const y = [0];
  let below = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i + 1 < sorted.length && sorted[i + 1] === sorted[i]) continue;
    x.push(sorted[i], sorted[i]);
    y.push(below / sorted.length, (i + 1) / sorted.length);
    below = i + 1;
  }
  x.push(1 + CDF_MARGIN);
  y.push(1);
  return { x, y };
}

/**
 * The empirical CDF of each set's per-pair alignment score: the real test set, the independent one and each variant
 * at its recommended setting (the guided row of the variant with the highest mean score). Rows of a table written
 * before the scores were kept are named in `missing`.
 */
async function alignmentPlots(results: ResultsTable, out: string, missing: string[]): Promise<Plot[]> {
  const scored = results.rows.filter((row): row is Row & { alignmentPerPair: NonNullable<Row['alignmentPerPair']> } => row.alignmentPerPair !== undefined);
  const unscored = results.rows.filter((row) => row.alignmentPerPair === undefined).map((row) => row.name);
  if (unscored.length > 0) {
    const effect = scored.length === 0 ? 'the per-pair distribution plot is left out' : 'they are left out of the per-pair distribution plot';
    missing.push(`per-pair alignment scores of ${unscored.join(', ')} (the table was written before the evaluation kept them: ${effect})`);
  }
  const shown = [...scored.filter((row) => row.variant === null), ...(recommendedRows(scored) as typeof scored)];
  const plots: Plot[] = [];
  for (const metric of [...new Set(shown.map((row) => row.alignmentPerPair.metric))]) {
    const label = PER_PAIR_LABELS[metric];
    const src = path.posix.join('plots', `per-pair-${metric}.png`);
    const title = `empirical CDF of ${label}`;
    await writeLineChart(path.join(out, src), {
      series: shown.filter((row) => row.alignmentPerPair.metric === metric).map((row) => ({ name: row.name, ...empiricalCdf(row.alignmentPerPair.values) })),
      xLabel: label,
      yLabel: 'fraction of pairs ≤ x',
      title,
      ...PLOT_SIZE,
    });
    plots.push({ src, title, caption: `${title}: real test, independent and each variant at its recommended setting (that of its highest mean)` });
  }
  return plots;
}

/** Variants trained in the work directory: those of the table and those with a run directory. */
function trainedVariants(work: string, results: ResultsTable | null): string[] {
  const dirs = readdirSync(work, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith(GUIDANCE_RUN_PREFIX)).map((e) => e.name);
  return [...new Set([...Object.keys(results?.discriminators ?? {}), ...dirs.map((d) => d.slice(GUIDANCE_RUN_PREFIX.length))])].sort();
}

/**
 * The drop of each discriminator's mean logit from matched real pairs to each changed case of its probe, against t:
 * a line per variant and case. A variant without its probe file is named in `missing`.
 */
async function probePlots(variants: string[], work: string, out: string, missing: string[]): Promise<Plot[]> {
  const series: LineSeries[] = [];
  for (const variant of variants) {
    const file = path.join(work, probeFile(variant));
    if (!existsSync(file)) {
      missing.push(`${probeFile(variant)} (variant ${variant} not probed: its logit drop against t is left out)`);
      continue;
    }
    const probe = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecord;
    const matched = probe.meanLogit.matched;
    for (const [name, logits] of Object.entries(probe.meanLogit).filter(([name]) => name !== 'matched')) {
      series.push({ name: `${variant}: ${name}`, x: probe.timesteps, y: logits.map((logit, i) => matched[i] - logit) });
    }
  }
  if (series.length === 0) return [];
  const src = path.posix.join('plots', 'probe-logit-drop.png');
  const title = 'logit drop (matched − changed) against t';
  await writeLineChart(path.join(out, src), { series, xLabel: 't', yLabel: 'logit drop', title, markers: true, ...PLOT_SIZE });
  return [{ src, title }];
}

interface TrainEntry {
  step: number;
  bce: number;
  denoising: number;
  dReal: number;
  dFake: number;
}

/** The train entries of a train-guidance log, the last one of each step (a resumed run repeats steps). */
function trainingLog(file: string): TrainEntry[] {
  const byStep = new Map<number, TrainEntry>();
  for (const entry of readJsonlLog(file)) if (entry.event === 'train') byStep.set(Number(entry.step), entry as unknown as TrainEntry);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

const TRAINING_CURVES = [
  { key: 'bce', label: 'BCE' },
  { key: 'denoising', label: 'denoising loss' },
  { key: 'dReal', label: 'D(real)' },
  { key: 'dFake', label: 'D(fake)' },
] as const;

/**
 * One chart per quantity of the discriminators' training logs against step, a line per variant; a variant of the
 * table (or a run directory) without logged training steps is named in `missing`.
 */
async function trainingPlots(variants: string[], work: string, out: string, missing: string[]): Promise<Plot[]> {
  const logs: { variant: string; entries: ReturnType<typeof trainingLog> }[] = [];
  for (const variant of variants) {
    const file = path.join(guidanceRunDir(variant), GUIDANCE_FILES.log);
    const entries = existsSync(path.join(work, file)) ? trainingLog(path.join(work, file)) : [];
    if (entries.length === 0) missing.push(`${file} (no logged training steps of variant ${variant}: its training curves are left out)`);
    else logs.push({ variant, entries });
  }
  if (logs.length === 0) return [];
  const plots: Plot[] = [];
  for (const { key, label } of TRAINING_CURVES) {
    const src = path.posix.join('plots', `training-${key}.png`);
    await writeLineChart(path.join(out, src), {
      series: logs.map(({ variant, entries }) => ({ name: variant, x: entries.map((e) => e.step), y: entries.map((e) => e[key] ?? NaN) })),
      xLabel: 'step',
      yLabel: label,
      title: `${label} during training`,
      // Dots only where a log has few entries: on a long one they would hide the line.
      markers: Math.max(...logs.map(({ entries }) => entries.length)) <= MARKED_POINTS,
      ...PLOT_SIZE,
    });
    plots.push({ src, title: `${label} during training` });
  }
  return plots;
}

interface MediaSet {
  /** Directory under the work directory (and under out/assets). */
  dir: string;
  /** The table's name of the sample set whose media these are, when a row names the directory. */
  set: string | null;
  images: string[];
  videos: string[];
}

/** Copies the contact sheets (*.png) and mp4s of every directory under work but out into out/assets/<its path under work>/. */
function copyMedia(work: string, out: string, rows: Row[]): MediaSet[] {
  const setOf = new Map(rows.filter((row) => row.media).map((row) => [row.media!, row.name]));
  const sets: MediaSet[] = [];
  const visit = (dir: string): void => {
    const from = path.join(work, dir);
    if (path.resolve(from) === path.resolve(out)) return;
    const entries = readdirSync(from, { withFileTypes: true });
    const files = (extension: string) => entries.filter((e) => e.isFile() && e.name.endsWith(extension)).map((e) => e.name).sort();
    const [images, videos] = [files('.png'), files('.mp4')];
    if (images.length + videos.length > 0) {
      mkdirSync(path.join(out, 'assets', dir), { recursive: true });
      for (const file of [...images, ...videos]) copyFileSync(path.join(from, file), path.join(out, 'assets', dir, file));
      sets.push({ dir: dir || '.', set: setOf.get(dir) ?? null, images, videos });
    }
    for (const e of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) visit(path.join(dir, e.name));
  };
  visit('');
  return sets;
}

/** "pair 3" for guided sampling's sample-003.mp4, else the file name. */
function pairLabel(file: string): string {
  const pair = /^sample-(\d+)\.mp4$/.exec(file);
  return pair ? `pair ${Number(pair[1])}` : file;
}

function gallery(sets: MediaSet[]): Html {
  const asset = (set: MediaSet, file: string) => path.posix.join('assets', ...set.dir.split(path.sep), file);
  return html`${sets.map((set) => {
    const title = set.set ? `${set.set} (${set.dir})` : set.dir;
    return html`<h3>${title}</h3>
<div class="figures">${set.images.map((file) => html`<figure><img src="${asset(set, file)}" alt="${`${title}: ${file}`}"><figcaption>${file}</figcaption></figure>`)}</div>
${set.videos.length > 0
  ? html`<div class="figures">${set.videos.map((file) => {
      const label = `${set.set ?? set.dir}: ${pairLabel(file)}`;
      return html`<figure><video controls preload="metadata" src="${asset(set, file)}" title="${label}"></video><figcaption>${label}</figcaption></figure>`;
    })}</div>`
  : ''}`;
  })}`;
}

/** A paper table: its caption above it. */
const paperTable = (spec: TableSpec): Html => html`<div class="paper" data-title="${spec.title}"><p>${spec.caption}</p>${table(spec.header, spec.rows)}</div>`;

const plotFigures = (plots: Plot[]): Html =>
  html`<div class="figures">${plots.map((plot) => html`<figure><img src="${plot.src}" alt="${plot.title}"><figcaption>${plot.caption ?? plot.title}</figcaption></figure>`)}</div>`;

/**
 * Writes the plots and copies the media under `out`, and returns index.html; `missing` is extended by what the
 * plots lack beyond the tables.
 */
export async function resultsReportPage(input: ResultsReportInput): Promise<{ page: Html; missing: string[] }> {
  const { work, out, results } = input;
  const missing = [...input.missing];
  mkdirSync(path.join(out, 'plots'), { recursive: true });
  const rows = results?.rows ?? [];
  const metrics = rows.map((row) => flatten(row.metrics));
  const columns = [...new Set(metrics.flatMap((m) => Object.keys(m)))];
  const main = table(
    ['set', 'variant', 'λ', ...columns, 'onset F1 vs independent', 'seconds'],
    rows.map((row, i) => [
      row.name,
      row.variant ?? '—',
      row.lambda === null ? '—' : JSON.stringify(row.lambda),
      ...columns.map((column) => cell(metrics[i][column])),
      row.onsetF1VsIndependent ? `${cell(row.onsetF1VsIndependent.mean)} ± ${cell(row.onsetF1VsIndependent.stdErr)}` : '—',
      cell(row.seconds),
    ]),
  );
  const variants = trainedVariants(work, results);
  const tables = input.paperTables;
  const stages = results
    ? table(['stage', 'wall s'], Object.entries(results.timings).map(([stage, seconds]) => [stage, cell(seconds)]))
    : html``;
  const sweep = results ? await sweepPlots(results, out) : [];
  if (results && sweep.length === 0) missing.push('guided rows with one λ for both modalities (the λ sweep plots are left out)');
  const perModality = rows.filter((row) => row.lambda !== null && typeof row.lambda !== 'number').map((row) => row.name);
  if (perModality.length > 0) missing.push(`the λ sweep plots leave out the rows with a λ per modality: ${perModality.join(', ')}`);
  const alignment = results ? await alignmentPlots(results, out, missing) : [];
  const training = await trainingPlots(variants, work, out, missing);
  const probes = await probePlots(variants, work, out, missing);
  const media = copyMedia(work, out, rows);
  const body = html`${missing.length > 0 ? html`<h2>Missing</h2><ul>${missing.map((m) => html`<li>${m}</li>`)}</ul>` : ''}
${tables
  ? html`<h2>Main table</h2>${paperTable(tables.main)}
${tables.ablations.length > 0 ? html`<h2>Ablations</h2>${tables.ablations.map((spec) => html`<h3>${spec.title}</h3>${paperTable(spec)}`)}` : ''}
<h2>Cost</h2>${paperTable(tables.cost)}<h3>Stages</h3>${stages}
<h2>All sets</h2><div class="wide">${main}</div>`
  : ''}
${sweep.length > 0 ? html`<h2>λ sweep</h2>${plotFigures(sweep)}` : ''}
${alignment.length > 0 ? html`<h2>Per-pair alignment</h2>${plotFigures(alignment)}` : ''}
${training.length > 0 ? html`<h2>Discriminator training</h2>${plotFigures(training)}` : ''}
${probes.length > 0 ? html`<h2>Discriminator probe</h2>${plotFigures(probes)}` : ''}
<h2>Sample sets</h2>${gallery(media)}
<h2>Provenance</h2>${table(['what', 'value'], input.provenance)}`;
  return { page: page('MMDisCo results', body), missing };
}
