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

/**
 * A PNG line chart of several series (e.g. loss curves) with a legend. Non-finite points (and, on a log
 * axis, non-positive ones) break the line rather than being drawn.
 */
export async function writeLineChart(file: string, spec: LineChartSpec): Promise<void> {
  const width = spec.width ?? 720;
  const height = spec.height ?? 420;
  if (spec.series.length === 0) throw new Error('writeLineChart: no series');
  spec.series.forEach((s) => {
    if (s.x && s.x.length !== s.y.length) throw new Error(`writeLineChart: series "${s.name}" has ${s.x.length} x for ${s.y.length} y`);
  });
  const area: PlotArea = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  if (area.width < 32 || area.height < 32) throw new Error(`writeLineChart: ${width}×${height} leaves no room to plot`);

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
    ctx.strokeStyle = PALETTE[index % PALETTE.length];
    ctx.setLineDash(s.dashed ? DASH : []);
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
      ctx.fillStyle = PALETTE[index % PALETTE.length];
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
  drawLegend(ctx, area, plotted);
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

function drawLegend(ctx: SKRSContext2D, area: PlotArea, series: { name: string; dashed: boolean }[]): void {
  const names = series.map((s) => s.name);
  ctx.save();
  ctx.font = `12px ${FONT_FAMILY}`;
  const lineHeight = 16;
  const swatch = 18;
  const textWidth = Math.max(...names.map((name) => ctx.measureText(name).width));
  const boxWidth = swatch + 14 + textWidth;
  const boxHeight = names.length * lineHeight + 8;
  const left = area.left + area.width - boxWidth - 8;
  const top = area.top + 8;
  ctx.globalAlpha = 0.85;
  ctx.fillStyle = '#fff';
  ctx.fillRect(left, top, boxWidth, boxHeight);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, boxWidth, boxHeight);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  names.forEach((name, index) => {
    const y = top + 4 + lineHeight * (index + 0.5);
    ctx.strokeStyle = PALETTE[index % PALETTE.length];
    ctx.lineWidth = 2;
    ctx.setLineDash(series[index].dashed ? DASH : []);
    ctx.beginPath();
    ctx.moveTo(left + 5, y);
    ctx.lineTo(left + 5 + swatch, y);
    ctx.stroke();
    ctx.fillStyle = '#222';
    ctx.fillText(name, left + swatch + 10, y);
  });
  ctx.restore();
}
