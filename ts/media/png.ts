import { writeFile } from 'node:fs/promises';
import { createCanvas, ImageData } from '@napi-rs/canvas';
import { VideoFrames, frameInterleaved } from './frames';

/** One frame as a PNG, upscaled by an integer factor with nearest neighbour. */
export function framePng(v: VideoFrames, t: number, scale = 1): Buffer {
  const w = v.width * scale;
  const h = v.height * scale;
  const canvas = createCanvas(w, h);
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(frameInterleaved(v, t, scale, true).buffer), w, h), 0, 0);
  return canvas.toBuffer('image/png');
}

export interface ContactSheetOptions {
  /** Integer nearest-neighbour upscale of each frame. */
  scale?: number;
  /** Pixels between tiles. */
  gap?: number;
  /** Optional text drawn left of each row (one per clip). */
  rowLabels?: string[];
}

/**
 * A grid with one row per clip and one column per frame, as PNG. Each row is as tall as its clip, so that rows of
 * different heights (a video above its log-mel) sit evenly spaced.
 */
export function contactSheetPng(clips: VideoFrames[], opts: ContactSheetOptions = {}): Buffer {
  if (clips.length === 0) throw new Error('contactSheetPng: no clips');
  const scale = opts.scale ?? 4;
  const gap = opts.gap ?? 2;
  const labelW = opts.rowLabels ? 120 : 0;
  const tileW = Math.max(...clips.map((c) => c.width)) * scale;
  const cols = Math.max(...clips.map((c) => c.frames));
  const heights = clips.map((c) => c.height * scale);
  const canvas = createCanvas(labelW + cols * (tileW + gap) + gap, heights.reduce((sum, h) => sum + h + gap, gap));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#404040';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px sans-serif';
  let y = gap;
  clips.forEach((clip, row) => {
    const w = clip.width * scale;
    const h = heights[row];
    if (opts.rowLabels) {
      ctx.fillStyle = '#ffffff';
      ctx.fillText(opts.rowLabels[row] ?? '', 4, y + h / 2 + 4, labelW - 8);
    }
    for (let t = 0; t < clip.frames; t++) {
      const rgba = frameInterleaved(clip, t, scale, true);
      ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer), w, h), labelW + gap + t * (tileW + gap), y);
    }
    y += h + gap;
  });
  return canvas.toBuffer('image/png');
}

export async function writePng(path: string, png: Buffer): Promise<void> {
  await writeFile(path, png);
}
