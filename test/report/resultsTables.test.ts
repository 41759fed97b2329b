/**
 * The paper's tables of a results run (ts/pipeline/resultsTables.ts) on synthetic rows: each variant's recommended
 * row is its highest alignment, the paired difference to the independent set is the closed form, the ablations
 * hold the variants at the setting they share and each sweep around the recommended setting, and the cost table
 * sums a resumed run's training and divides sampling time per pair.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultsTable, Row } from '../../ts/pipeline/results';
import { markdownOf, paperTables, variantTrainings } from '../../ts/pipeline/resultsTables';
import { resultsRow } from '../fixtures/resultsTable';

function guided(name: string, variant: string, lambda: number, agreements: number[], setting: Partial<Row> = {}): Row {
  return { ...resultsRow(name, variant, lambda, 50, null, agreements), ...setting };
}

/** The classAgreement column follows the per-pair scores, as the evaluation writes it. */
function scored(row: Row): Row {
  const values = row.alignmentPerPair!.values;
  return { ...row, metrics: { ...row.metrics, classAgreement: values.reduce((a, b) => a + b, 0) / values.length } };
}

describe('paper tables', () => {
  const rows = [
    resultsRow('real test', null, null, 10, null, [1, 1, 1, 1]),
    resultsRow('independent', null, null, 60, null, [0, 0, 1, 0]),
    guided('B λ=1', 'B', 1, [1, 0, 1, 0]),
    guided('B λ=4', 'B', 4, [1, 1, 1, 0]),
    guided('B λ=4 t∈[0,500]', 'B', 4, [1, 0, 0, 0], { interval: [0, 500] }),
    guided('B-bce λ=1', 'B-bce', 1, [0, 1, 1, 0]),
    guided('B-bce λ=4', 'B-bce', 4, [0, 0, 1, 0]),
    guided('A λ=1', 'A', 1, [1, 1, 1, 1]),
  ].map(scored);
  const results: ResultsTable = {
    config: 'configs/results/synthetic.json',
    work: 'work',
    baseParameters: 1000,
    discriminators: { B: { parameters: 100, fractionOfBases: 0.1 }, 'B-bce': { parameters: 100, fractionOfBases: 0.1 }, A: { parameters: 50, fractionOfBases: 0.05 } },
    timings: {},
    rows: rows.map((row) => ({ ...row, seconds: row.variant === null ? 2 : 6 })),
  };
  const tables = paperTables(results, { B: { steps: 30, seconds: 10, pairsPerSecond: 24 }, 'B-bce': null, A: null });
  const names = (rowsOf: string[][]) => rowsOf.map((r) => r[0]);

  it('puts each variant at its highest alignment in the main table, with the paired difference to independent', () => {
    assert.deepEqual(names(tables.main.rows), ['real test', 'independent', 'B λ=4', 'B-bce λ=1', 'A λ=1']);
    const column = tables.main.header.indexOf('class agreement − independent');
    // B λ=4 minus independent, pair by pair: 1, 1, 0, 0 → mean 0.5, standard error sqrt(1/3 / 4).
    assert.equal(tables.main.rows[2][column], `+0.500 ± ${Math.sqrt(1 / 3 / 4).toFixed(3)}`);
    assert.equal(tables.main.rows[1][column], '—');
    assert.equal(tables.main.rows[2][tables.main.header.indexOf('class agreement')], '0.750');
  });

  it('ablates the variants at their shared setting and each sweep around the recommended one', () => {
    // A table written before the interval was kept: the row's name gives it.
    const older = paperTables({ ...results, rows: results.rows.map(({ interval, ...row }) => row) }, {});
    const byTitle = Object.fromEntries(tables.ablations.map((t) => [t.title, names(t.rows)]));
    assert.deepEqual(Object.fromEntries(older.ablations.map((t) => [t.title, names(t.rows)])), byTitle);
    assert.deepEqual(byTitle, {
      'Variants at λ=1': ['independent', 'B λ=1', 'B-bce λ=1', 'A λ=1'],
      'B: λ': ['independent', 'B λ=1', 'B λ=4'],
      'B: guidance interval': ['independent', 'B λ=4', 'B λ=4 t∈[0,500]'],
      'B-bce: λ': ['independent', 'B-bce λ=1', 'B-bce λ=4'],
    });
  });

  it('reports parameters, training and sampling per pair against unguided in the cost table', () => {
    const cost = Object.fromEntries(tables.cost.rows.map((r) => [r[0], r.slice(1)]));
    // 6 s for 4 pairs against 2 s: 1.5 s per pair, 3× unguided.
    assert.deepEqual(cost['discriminator B'], ['100', '10.00 %', '30', '24.0', '10.0', '1.500', '3.00']);
    assert.deepEqual(cost['discriminator A'], ['50', '5.00 %', '—', '—', '—', '1.500', '3.00']);
    assert.deepEqual(cost['base models (audio + video)'], ['1,000', '100 %', '—', '—', '—', '0.500', '1']);
    for (const spec of [tables.main, ...tables.ablations, tables.cost]) {
      for (const row of spec.rows) assert.equal(row.length, spec.header.length, `${spec.title}: ${row[0]}`);
    }
  });

  it('writes Markdown with the title, caption and one line per row', () => {
    const lines = markdownOf(tables.main).trim().split('\n');
    assert.equal(lines[0], '### Main');
    assert.equal(lines.length, 4 + 2 + tables.main.rows.length);
    assert.match(lines[lines.length - 1], /^\| A λ=1 \| /);
  });

  it('sums the training of a resumed run from its log and names a log line that is not JSON', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-tables-'));
    try {
      const log = path.join(dir, 'log.jsonl');
      const end = (steps: number, seconds: number, pairsPerSecond: number) => JSON.stringify({ event: 'end', steps, seconds, pairsPerSecond });
      writeFileSync(log, [JSON.stringify({ event: 'train', step: 10 }), end(10, 4, 20), end(20, 6, 40)].join('\n') + '\n');
      const trainings = variantTrainings({ B: log, C: path.join(dir, 'absent.jsonl') });
      // 80 + 240 pairs in 10 s.
      assert.deepEqual(trainings, { B: { steps: 30, seconds: 10, pairsPerSecond: 32 }, C: null });
      writeFileSync(log, `${end(1, 1, 1)}\n{broken\n`);
      assert.throws(() => variantTrainings({ B: log }), /log\.jsonl: line 2 is not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
