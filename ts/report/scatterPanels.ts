import { createCanvas } from '@napi-rs/canvas';
import { SampleSet, checkSampleSet } from '../eval/samples';
import {
  FONT_FAMILY, PALETTE, PlotArea, Range, drawAxes, drawVerticalText, finiteExtent, niceTicks, padRange, projector,
  writeCanvasPng,
} from './plotting';

export interface ScatterPanel {
  /** 2-D points. */
  points: SampleSet;
  /** Optional integer label per point (e.g. mixture component), which picks its colour. */
  labels?: Int32Array;
}

export interface ScatterColumn {
  title: string;
  /** One panel per row, in the order of the figure's rows. */
  rows: ScatterPanel[];
}

export interface ScatterPanelsSpec {
  /** Columns side by side, e.g. the sample sets "independent", "guided", "real". */
  columns: ScatterColumn[];
  /** Title of each row, e.g. the modality: "audio", "video". */
  rowTitles?: string[];
  /** Axis limits per row; by default the padded extent of that row's points over all columns. */
  rowLimits?: { x: Range; y: Range }[];
  /** Side of each square data area in pixels (default 240). */
  panelSize?: number;
  /** Point radius in pixels (default 1.6). */
  pointRadius?: number;
}

const PANEL_MARGIN = { left: 48, right: 12, top: 10, bottom: 28 };
const COLUMN_TITLE_HEIGHT = 26;
const ROW_TITLE_WIDTH = 26;

/**
 * A PNG grid of 2-D scatter plots: one column per sample set and one row per modality, with the axis
 * limits shared along each row so the columns compare directly. Points are coloured by label.
 */
export async function writeScatterPanels(file: string, spec: ScatterPanelsSpec): Promise<void> {
  const { width, height, size, cellWidth, cellHeight, rowLeft } = layout(spec);
  const columns = spec.columns;
  const rowCount = columns[0].rows.length;
  const radius = spec.pointRadius ?? 1.6;

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);

  ctx.fillStyle = '#111';
  ctx.font = `bold 14px ${FONT_FAMILY}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  columns.forEach((column, c) => {
    ctx.fillText(column.title, rowLeft + c * cellWidth + PANEL_MARGIN.left + size / 2, COLUMN_TITLE_HEIGHT / 2 + 2);
  });
  spec.rowTitles?.forEach((title, r) => {
    drawVerticalText(ctx, title, ROW_TITLE_WIDTH / 2, COLUMN_TITLE_HEIGHT + r * cellHeight + PANEL_MARGIN.top + size / 2);
  });

  for (let r = 0; r < rowCount; r++) {
    const limits = spec.rowLimits?.[r] ?? rowExtent(columns.map((column) => column.rows[r].points));
    const xAxis = { range: limits.x, ticks: niceTicks(limits.x, 5) };
    const yAxis = { range: limits.y, ticks: niceTicks(limits.y, 5) };
    columns.forEach((column, c) => {
      const area: PlotArea = {
        left: rowLeft + c * cellWidth + PANEL_MARGIN.left,
        top: COLUMN_TITLE_HEIGHT + r * cellHeight + PANEL_MARGIN.top,
        width: size,
        height: size,
      };
      const { points, labels } = column.rows[r];
      const toPixel = projector(area, limits.x, limits.y);
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.width, area.height);
      ctx.clip();
      ctx.globalAlpha = 0.6;
      for (let i = 0; i < points.n; i++) {
        const [px, py] = toPixel(points.data[2 * i], points.data[2 * i + 1]);
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        ctx.fillStyle = labels ? PALETTE[((labels[i] % PALETTE.length) + PALETTE.length) % PALETTE.length] : '#3a5f8f';
        ctx.beginPath();
        ctx.arc(px, py, radius, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.restore();
      drawAxes(ctx, area, xAxis, yAxis);
    });
  }
  await writeCanvasPng(file, canvas);
}

/** Pixel size of the figure writeScatterPanels draws for `spec`. */
export function scatterPanelsSize(spec: ScatterPanelsSpec): { width: number; height: number } {
  const { width, height } = layout(spec);
  return { width, height };
}

/** Checks that the spec is well formed and places its cells. */
function layout(spec: ScatterPanelsSpec) {
  const columns = spec.columns;
  if (columns.length === 0) throw new Error('writeScatterPanels: no columns');
  const rowCount = columns[0].rows.length;
  if (rowCount === 0) throw new Error('writeScatterPanels: no rows');
  for (const column of columns) {
    if (column.rows.length !== rowCount) {
      throw new Error(`writeScatterPanels: column "${column.title}" has ${column.rows.length} rows, expected ${rowCount}`);
    }
    column.rows.forEach(({ points, labels }, r) => {
      const what = `writeScatterPanels: column "${column.title}" row ${r}`;
      checkSampleSet(points, what);
      if (points.dim !== 2) throw new Error(`${what}: points must be 2-D, got dim ${points.dim}`);
      if (labels && labels.length !== points.n) throw new Error(`${what}: ${labels.length} labels for ${points.n} points`);
    });
  }
  if (spec.rowTitles && spec.rowTitles.length !== rowCount) {
    throw new Error(`writeScatterPanels: ${spec.rowTitles.length} row titles for ${rowCount} rows`);
  }
  if (spec.rowLimits && spec.rowLimits.length !== rowCount) {
    throw new Error(`writeScatterPanels: ${spec.rowLimits.length} row limits for ${rowCount} rows`);
  }
  const size = spec.panelSize ?? 240;
  if (!Number.isInteger(size) || size < 16) throw new Error(`writeScatterPanels: panelSize must be an integer ≥ 16, got ${size}`);
  const cellWidth = PANEL_MARGIN.left + size + PANEL_MARGIN.right;
  const cellHeight = PANEL_MARGIN.top + size + PANEL_MARGIN.bottom;
  const rowLeft = spec.rowTitles ? ROW_TITLE_WIDTH : 0;
  return {
    width: rowLeft + columns.length * cellWidth,
    height: COLUMN_TITLE_HEIGHT + rowCount * cellHeight,
    size,
    cellWidth,
    cellHeight,
    rowLeft,
  };
}

function rowExtent(sets: SampleSet[]): { x: Range; y: Range } {
  function* coordinate(axis: 0 | 1): Generator<number> {
    for (const set of sets) for (let i = 0; i < set.n; i++) yield set.data[2 * i + axis];
  }
  return { x: padRange(finiteExtent(coordinate(0))), y: padRange(finiteExtent(coordinate(1))) };
}
