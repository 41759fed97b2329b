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

/** A grid with one row per clip and one column per frame, as PNG. */
export function contactSheetPng(clips: VideoFrames[], opts: ContactSheetOptions = {}): Buffer {
  if (clips.length === 0) throw new Error('contactSheetPng: no clips');
  const scale = opts.scale ?? 4;
  const gap = opts.gap ?? 2;
  const labelW = opts.rowLabels ? 120 : 0;
  const tileW = Math.max(...clips.map((c) => c.width)) * scale;
  const tileH = Math.max(...clips.map((c) => c.height)) * scale;
  const cols = Math.max(...clips.map((c) => c.frames));
  const canvas = createCanvas(labelW + cols * (tileW + gap) + gap, clips.length * (tileH + gap) + gap);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#404040';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px sans-serif';
  clips.forEach((clip, row) => {
    const y = gap + row * (tileH + gap);
    if (opts.rowLabels) {
      ctx.fillStyle = '#ffffff';
      ctx.fillText(opts.rowLabels[row] ?? '', 4, y + tileH / 2 + 4, labelW - 8);
    }
    for (let t = 0; t < clip.frames; t++) {
      const w = clip.width * scale;
      const h = clip.height * scale;
      const rgba = frameInterleaved(clip, t, scale, true);
      ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer), w, h), labelW + gap + t * (tileW + gap), y);
    }
  });
  return canvas.toBuffer('image/png');
}

export async function writePng(path: string, png: Buffer): Promise<void> {
  await writeFile(path, png);
}
