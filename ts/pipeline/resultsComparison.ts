/**
 * One results table against another of the same config (a reproduction against the recorded table), row by row
 * where the two share a set's name: the alignment of each with the difference in standard errors, and the fidelity
 * metrics side by side. The standard error treats the two sets as independent draws of n pairs each (their
 * variances added), which overstates the noise between two sets drawn from the same starting noise: a difference
 * within it is what a rerun gives, one beyond it is a change.
 */
import { fixed, signed } from '../util/format';
import type { ResultsTable, Row } from './results';
import { alignmentName, alignmentOf, type TableSpec } from './resultsTables';

/** |difference| up to this many standard errors reads as "within noise". */
export const NOISE_STANDARD_ERRORS = 2;

export interface AlignmentComparison {
  recorded: number;
  reproduced: number;
  difference: number;
  /** Standard error of the difference; null where neither row keeps per-pair scores and the metric is not binary. */
  stdErr: number | null;
}

export interface RowComparison {
  name: string;
  alignment: AlignmentComparison;
  /** [recorded, reproduced] per modality. */
  frechet: { audio: [number, number]; video: [number, number] };
  kid: { audio: [number, number]; video: [number, number] };
  /** Every metric above equal to the last bit. */
  identical: boolean;
}

export interface ResultsComparison {
  alignment: 'onset F1' | 'class agreement';
  rows: RowComparison[];
  onlyRecorded: string[];
  onlyReproduced: string[];
}

/**
 * The variance of a set's mean alignment: from its per-pair scores, else from the other row's scores of the same
 * metric (the same kind of set, so about the same spread), else for class agreement (0 or 1 per pair) p(1 − p)/(n − 1).
 */
function meanVariance(row: Row, other: Row): number | null {
  const values = row.alignmentPerPair?.values ?? other.alignmentPerPair?.values;
  const n = row.metrics.pairs;
  if (values && values.length > 1) {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
    return variance / n;
  }
  if (row.metrics.onsetF1 === null && n > 1) {
    const p = row.metrics.classAgreement;
    return (p * (1 - p)) / (n - 1);
  }
  return null;
}

function compareRow(recorded: Row, reproduced: Row): RowComparison {
  const a = alignmentOf(recorded), b = alignmentOf(reproduced);
  const variances = [meanVariance(recorded, reproduced), meanVariance(reproduced, recorded)];
  const stdErr = variances.every((v): v is number => v !== null) ? Math.sqrt(variances[0] + variances[1]) : null;
  const pair = (f: (row: Row) => number): [number, number] => [f(recorded), f(reproduced)];
  const frechet = { audio: pair((r) => r.metrics.audio.frechet), video: pair((r) => r.metrics.video.frechet) };
  const kid = { audio: pair((r) => r.metrics.audio.kid.mean), video: pair((r) => r.metrics.video.kid.mean) };
  const identical = a === b && [frechet.audio, frechet.video, kid.audio, kid.video].every(([x, y]) => x === y);
  return { name: recorded.name, alignment: { recorded: a, reproduced: b, difference: b - a, stdErr }, frechet, kid, identical };
}

/** The rows two tables share by name, compared, and the names only one of them has. */
export function compareResults(recorded: ResultsTable, reproduced: ResultsTable): ResultsComparison {
  const byName = new Map(reproduced.rows.map((row) => [row.name, row]));
  const shared = recorded.rows.filter((row) => byName.has(row.name));
  const names = new Set(recorded.rows.map((row) => row.name));
  return {
    alignment: alignmentName([...recorded.rows, ...reproduced.rows]),
    rows: shared.map((row) => compareRow(row, byName.get(row.name)!)),
    onlyRecorded: recorded.rows.filter((row) => !byName.has(row.name)).map((row) => row.name),
    onlyReproduced: reproduced.rows.filter((row) => !names.has(row.name)).map((row) => row.name),
  };
}

/** A row's verdict: identical, within NOISE_STANDARD_ERRORS standard errors, beyond them, or unknown. */
export function verdictOf(row: RowComparison): 'identical' | 'within noise' | 'differs' | 'no standard error' {
  if (row.identical) return 'identical';
  const { difference, stdErr } = row.alignment;
  if (stdErr === null) return 'no standard error';
  return Math.abs(difference) <= NOISE_STANDARD_ERRORS * stdErr ? 'within noise' : 'differs';
}

/** The comparison as a table: recorded → reproduced for each shared set. */
export function comparisonTable(comparison: ResultsComparison, recordedLabel: string, reproducedLabel: string): TableSpec {
  const arrow = ([x, y]: [number, number]) => `${fixed(x, 2)} → ${fixed(y, 2)}`;
  const only = [
    ...(comparison.onlyRecorded.length ? [`Only in ${recordedLabel}: ${comparison.onlyRecorded.join(', ')}.`] : []),
    ...(comparison.onlyReproduced.length ? [`Only in ${reproducedLabel}: ${comparison.onlyReproduced.join(', ')}.`] : []),
  ];
  return {
    title: `${reproducedLabel} against ${recordedLabel}`,
    caption: [
      `Each set both tables hold, ${recordedLabel} → ${reproducedLabel}. Δ/SE: the ${comparison.alignment} difference over its standard error, ` +
        `the two sets taken as independent draws; within noise is |Δ| ≤ ${NOISE_STANDARD_ERRORS} SE.`,
      ...only,
    ].join(' '),
    header: ['set', comparison.alignment, 'Δ', 'Δ/SE', 'Fréchet a', 'Fréchet v', 'KID a', 'KID v', 'verdict'],
    rows: comparison.rows.map((row) => {
      const { recorded, reproduced, difference, stdErr } = row.alignment;
      return [
        row.name,
        `${fixed(recorded)} → ${fixed(reproduced)}`,
        signed(difference),
        stdErr === null ? '—' : stdErr === 0 ? (difference === 0 ? '0' : '∞') : signed(difference / stdErr, 2),
        arrow(row.frechet.audio),
        arrow(row.frechet.video),
        arrow(row.kid.audio),
        arrow(row.kid.video),
        verdictOf(row),
      ];
    }),
  };
}
