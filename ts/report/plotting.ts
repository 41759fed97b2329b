import { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import { writeFileAtomic } from '../core/atomicWrite';

/** Shared drawing pieces of the report plots: colours, ticks, axes, PNG output. */

/** Categorical colours (the "tab10" set), indexed by label or series modulo its length. */
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

export const FONT_FAMILY = '"DejaVu Sans", sans-serif';

export interface Range {
  min: number;
  max: number;
}

/** Pixel rectangle of a plot's data area. */
export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Axis {
  range: Range;
  ticks: number[];
  /** Tick label text; defaults to formatTick with the tick spacing. */
  format?: (value: number) => string;
  label?: string;
}

/** The smallest and largest finite values, or null when there are none. */
export function finiteExtent(values: Iterable<number>): Range | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : null;
}

/** Widens a range by `fraction` of its span on each side; a degenerate range gets a unit span. */
export function padRange(range: Range | null, fraction = 0.05): Range {
  if (range === null) return { min: 0, max: 1 };
  const span = range.max - range.min;
  if (span === 0) return { min: range.min - 0.5, max: range.max + 0.5 };
  return { min: range.min - fraction * span, max: range.max + fraction * span };
}

/** About `target` round tick values (steps of 1, 2 or 5 × 10^k) inside the range. */
export function niceTicks(range: Range, target = 5): number[] {
  const step = tickStep(range, target);
  const ticks: number[] = [];
  for (let k = Math.ceil(range.min / step - 1e-9); k * step <= range.max + step * 1e-9; k++) {
    // toPrecision drops float noise such as 3 × 0.1 = 0.30000000000000004; + 0 turns −0 into 0.
    ticks.push(Number((k * step).toPrecision(12)) + 0);
  }
  return ticks;
}

function tickStep(range: Range, target: number): number {
  const rough = (range.max - range.min) / Math.max(1, target);
  const magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
  const multiple = [1, 2, 5, 10].find((m) => m * magnitude >= rough) ?? 10;
  return multiple * magnitude;
}

/** Tick text with no more decimals than the spacing needs; exponent form for very large or small values. */
export function formatTick(value: number, spacing: number): string {
  const size = Math.abs(value);
  if (value !== 0 && (size >= 1e5 || size < 1e-3)) return value.toExponential(Math.max(0, Math.round(-Math.log10(spacing / size))));
  const decimals = Math.max(0, -Math.floor(Math.log10(spacing) + 1e-9));
  return value.toFixed(Math.min(decimals, 10));
}

/** Maps data coordinates to pixels in `area` (y grows upwards). */
export function projector(area: PlotArea, x: Range, y: Range): (vx: number, vy: number) => [number, number] {
  const sx = area.width / (x.max - x.min);
  const sy = area.height / (y.max - y.min);
  return (vx, vy) => [area.left + (vx - x.min) * sx, area.top + area.height - (vy - y.min) * sy];
}

/** Frame, tick marks, tick labels and axis labels around `area`. */
export function drawAxes(ctx: SKRSContext2D, area: PlotArea, x: Axis, y: Axis): void {
  const toPixel = projector(area, x.range, y.range);
  ctx.save();
  ctx.strokeStyle = '#333';
  ctx.lineWidth = 1;
  ctx.strokeRect(area.left + 0.5, area.top + 0.5, area.width, area.height);
  ctx.fillStyle = '#222';
  ctx.font = `11px ${FONT_FAMILY}`;
  const label = (axis: Axis): ((v: number) => string) =>
    axis.format ?? ((v: number) => formatTick(v, axis.ticks.length > 1 ? axis.ticks[1] - axis.ticks[0] : Math.abs(v) || 1));

  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const bottom = area.top + area.height;
  for (const tick of x.ticks) {
    const [px] = toPixel(tick, y.range.min);
    ctx.beginPath();
    ctx.moveTo(px, bottom);
    ctx.lineTo(px, bottom + 4);
    ctx.stroke();
    ctx.fillText(label(x)(tick), px, bottom + 6);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const tick of y.ticks) {
    const [, py] = toPixel(x.range.min, tick);
    ctx.beginPath();
    ctx.moveTo(area.left - 4, py);
    ctx.lineTo(area.left, py);
    ctx.stroke();
    ctx.fillText(label(y)(tick), area.left - 6, py);
  }

  ctx.font = `12px ${FONT_FAMILY}`;
  if (x.label) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(x.label, area.left + area.width / 2, bottom + 22);
  }
  if (y.label) {
    drawVerticalText(ctx, y.label, area.left - 46, area.top + area.height / 2);
  }
  ctx.restore();
}

/** Text rotated a quarter turn anticlockwise, centred on (cx, cy). */
export function drawVerticalText(ctx: SKRSContext2D, text: string, cx: number, cy: number): void {
  ctx.save();
  ctx.translate(cx, cy);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

/** Encodes the canvas as PNG and writes it atomically. */
export async function writeCanvasPng(file: string, canvas: Canvas): Promise<void> {
  await writeFileAtomic(file, await canvas.encode('png'));
}
