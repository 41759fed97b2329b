/**
 * A clip of video frames as stored in the shards: uint8, layout (frames, channels, height, width),
 * channels 1 (grey) or 3 (RGB).
 */
export interface VideoFrames {
  frames: number;
  channels: 1 | 3;
  height: number;
  width: number;
  data: Uint8Array;
}

export function checkFrames(v: VideoFrames): void {
  const expected = v.frames * v.channels * v.height * v.width;
  if (v.data.length !== expected) {
    throw new Error(
      `video data has ${v.data.length} bytes, expected ${expected} for (${v.frames}, ${v.channels}, ${v.height}, ${v.width})`,
    );
  }
}

/** Frame t as interleaved RGB (height·width·3) or RGBA, upscaled by an integer factor with nearest neighbour. */
export function frameInterleaved(v: VideoFrames, t: number, scale: number, alpha: boolean): Uint8Array {
  checkFrames(v);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer, got ${scale}`);
  const { channels, height, width } = v;
  const stride = alpha ? 4 : 3;
  const outW = width * scale;
  const out = new Uint8Array(height * scale * outW * stride);
  const plane = height * width;
  const base = t * channels * plane;
  for (let y = 0; y < height * scale; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < outW; x++) {
      const src = base + sy * width + Math.floor(x / scale);
      const o = (y * outW + x) * stride;
      for (let c = 0; c < 3; c++) out[o + c] = v.data[src + (channels === 3 ? c * plane : 0)];
      if (alpha) out[o + 3] = 255;
    }
  }
  return out;
}
