import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VideoFrames, checkFrames, frameInterleaved } from './frames';
import { runTool } from './process';
import { MonoAudio, writeWav } from './wav';

export interface Mp4Options {
  fps: number;
  /** Integer nearest-neighbour upscale (small frames are unwatchable otherwise). */
  scale?: number;
  /** Mixed in as AAC when given. */
  audio?: MonoAudio;
}

/**
 * Encodes frames (and optionally a mono track) to an H.264/AAC mp4 with ffmpeg. For previews and export
 * only: the encoding is lossy; training reads the raw tensors.
 */
export async function writeMp4(path: string, video: VideoFrames, opts: Mp4Options): Promise<void> {
  checkFrames(video);
  const scale = opts.scale ?? 1;
  const w = video.width * scale;
  const h = video.height * scale;
  const raw = Buffer.alloc(video.frames * w * h * 3);
  for (let t = 0; t < video.frames; t++) raw.set(frameInterleaved(video, t, scale, false), t * w * h * 3);

  const tmp = await mkdtemp(join(tmpdir(), 'mmdisco-mp4-'));
  try {
    const args = ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`];
    args.push('-framerate', String(opts.fps), '-i', 'pipe:0');
    if (opts.audio) {
      const wavPath = join(tmp, 'audio.wav');
      await writeWav(wavPath, opts.audio);
      args.push('-i', wavPath, '-c:a', 'aac', '-b:a', '96k');
    }
    // libx264 with yuv420p needs even sizes: pad odd ones by one black pixel.
    args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18');
    args.push('-pix_fmt', 'yuv420p', '-movflags', '+faststart', path);
    await runTool('ffmpeg', args, { stdin: raw });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
