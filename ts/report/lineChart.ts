import { SKRSContext2D, createCanvas } from '@napi-rs/canvas';
import {
  FONT_FAMILY, PALETTE, PlotArea, Range, drawAxes, finiteExtent, niceTicks, padRange, projector, writeCanvasPng,
} from './plotting';

export interface LineSeries {
  name: string;
  y: ArrayLike<number>;
  /** x of each point; by default 0, 1, 2, … */
  x?: ArrayLike<number>;
  /** Drawn dashed (e.g. a reference level), in the legend too. */
  dashed?: boolean;
}

export interface LineChartSpec {
  series: LineSeries[];
  xLabel: string;
  yLabel: string;
  title?: string;
  /** Logarithmic y axis (base 10); points with y ≤ 0 are left out. */
  logY?: boolean;
  /** A dot at every point, so that a series of one point shows. */
  markers?: boolean;
  /** Figure size in pixels (default 720 × 420). */
  width?: number;
  height?: number;
}

const MARGIN = { left: 72, right: 16, top: 36, bottom: 52 };
const DASH = [6, 4];
/** Line styles of the series past the palette's colours: its colours again, dotted, then dash-dotted. */
const CYCLE_DASHES = [[], [2, 3], [8, 3, 2, 3]];
const LEGEND = { lineHeight: 16, swatch: 18, gap: 12 };

/** Colour and dash of the series at `index` (a reference series is dashed). */
function lineStyle(index: number, dashed: boolean): { colour: string; dash: number[] } {
  const colour = PALETTE[index % PALETTE.length];
  return { colour, dash: dashed ? DASH : CYCLE_DASHES[Math.floor(index / PALETTE.length) % CYCLE_DASHES.length] };
}

/** The legend box's size for these names. */
function legendSize(names: string[]): { width: number; height: number } {
  const ctx = createCanvas(1, 1).getContext('2d');
  ctx.font = `12px ${FONT_FAMILY}`;
  const textWidth = Math.max(...names.map((name) => ctx.measureText(name).width));
  return { width: Math.ceil(LEGEND.swatch + 14 + textWidth), height: names.length * LEGEND.lineHeight + 8 };
}

/**
 * Where the legend goes and the figure's size: inside the plot's top-right corner while it covers at most half the
 * plot's height, else beside the plot, the figure widened (and lengthened) to hold it so that it hides no data.
 */
function layout(spec: LineChartSpec): { width: number; height: number; area: PlotArea; legend: { left: number; top: number; width: number; height: number } } {
  const width = spec.width ?? 720;
  const height = spec.height ?? 420;
  const area: PlotArea = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  if (area.width < 32 || area.height < 32) throw new Error(`writeLineChart: ${width}×${height} leaves no room to plot`);
  const box = legendSize(spec.series.map((s) => s.name));
  if (box.height <= area.height / 2) {
    return { width, height, area, legend: { ...box, left: area.left + area.width - box.width - 8, top: area.top + 8 } };
  }
  const left = area.left + area.width + LEGEND.gap;
  return {
    width: left + box.width + LEGEND.gap,
    height: Math.max(height, area.top + box.height + LEGEND.gap),
    area,
    legend: { ...box, left, top: area.top },
  };
}

/** The size writeLineChart gives this chart: the requested one, widened when the legend goes beside the plot. */
export function lineChartSize(spec: LineChartSpec): { width: number; height: number } {
  const { width, height } = layout(spec);
  return { width, height };
}

/**
 * A PNG line chart of several series (e.g. loss curves) with a legend. Non-finite points (and, on a log
 * axis, non-positive ones) break the line rather than being drawn.
 */
export async function writeLineChart(file: string, spec: LineChartSpec): Promise<void> {
  if (spec.series.length === 0) throw new Error('writeLineChart: no series');
  spec.series.forEach((s) => {
    if (s.x && s.x.length !== s.y.length) throw new Error(`writeLineChart: series "${s.name}" has ${s.x.length} x for ${s.y.length} y`);
  });
  const { width, height, area, legend } = layout(spec);

  // On a log axis everything is drawn in log10(y); ticks sit at whole decades.
  const plotted = spec.series.map((s) => ({
    name: s.name,
    dashed: s.dashed ?? false,
    x: Array.from({ length: s.y.length }, (_, i) => (s.x ? s.x[i] : i)),
    y: Array.from(s.y, (v) => (spec.logY ? (v > 0 ? Math.log10(v) : NaN) : v)),
  }));
  const xRange = padRange(finiteExtent(plotted.flatMap((s) => s.x)), 0);
  const yExtent = finiteExtent(plotted.flatMap((s) => s.y));
  const yRange: Range = spec.logY ? decadeRange(yExtent) : padRange(yExtent);
  const yAxis = spec.logY
    ? { range: yRange, ticks: decadeTicks(yRange), format: (v: number) => `1e${v}`, label: spec.yLabel }
    : { range: yRange, ticks: niceTicks(yRange, 6), label: spec.yLabel };

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  if (spec.title) {
    ctx.fillStyle = '#111';
    ctx.font = `bold 14px ${FONT_FAMILY}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(spec.title, area.left + area.width / 2, MARGIN.top / 2);
  }

  const toPixel = projector(area, xRange, yRange);
  ctx.save();
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.width, area.height);
  ctx.clip();
  ctx.lineWidth = 1.5;
  plotted.forEach((s, index) => {
    const style = lineStyle(index, s.dashed);
    ctx.strokeStyle = style.colour;
    ctx.setLineDash(style.dash);
    ctx.beginPath();
    let drawing = false;
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) {
        drawing = false;
        continue;
      }
      const [px, py] = toPixel(s.x[i], s.y[i]);
      if (drawing) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      drawing = true;
    }
    ctx.stroke();
    if (spec.markers && !s.dashed) {
      ctx.fillStyle = style.colour;
      for (let i = 0; i < s.x.length; i++) {
        if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) continue;
        const [px, py] = toPixel(s.x[i], s.y[i]);
        ctx.beginPath();
        ctx.arc(px, py, 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  });
  ctx.restore();

  drawAxes(ctx, area, { range: xRange, ticks: niceTicks(xRange, 8), label: spec.xLabel }, yAxis);
  drawLegend(ctx, legend, plotted);
  await writeCanvasPng(file, canvas);
}

/** The whole decades (in log10 units) that contain the extent. */
function decadeRange(extent: Range | null): Range {
  if (extent === null) return { min: 0, max: 1 };
  const min = Math.floor(extent.min);
  const max = Math.ceil(extent.max);
  return { min, max: max > min ? max : min + 1 };
}

/** Whole-decade ticks, thinned to at most about eight. */
function decadeTicks(range: Range): number[] {
  const stride = Math.max(1, Math.ceil((range.max - range.min) / 8));
  const ticks: number[] = [];
  for (let v = range.min; v <= range.max; v += stride) ticks.push(v);
  return ticks;
}

function drawLegend(ctx: SKRSContext2D, box: { left: number; top: number; width: number; height: number }, series: { name: string; dashed: boolean }[]): void {
  const { left, top } = box;
  ctx.save();
  ctx.font = `12px ${FONT_FAMILY}`;
  ctx.globalAlpha = 0.85;
  ctx.fillStyle = '#fff';
  ctx.fillRect(left, top, box.width, box.height);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, box.width, box.height);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  series.forEach((s, index) => {
    const y = top + 4 + LEGEND.lineHeight * (index + 0.5);
    const style = lineStyle(index, s.dashed);
    ctx.strokeStyle = style.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(style.dash);
    ctx.beginPath();
    ctx.moveTo(left + 5, y);
    ctx.lineTo(left + 5 + LEGEND.swatch, y);
    ctx.stroke();
    ctx.fillStyle = '#222';
    ctx.fillText(s.name, left + LEGEND.swatch + 10, y);
  });
  ctx.restore();
}
