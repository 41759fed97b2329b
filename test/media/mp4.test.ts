import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VideoFrames } from '../../ts/media/frames';
import { writeMp4 } from '../../ts/media/mp4';
import { contactSheetPng, framePng } from '../../ts/media/png';
import { runTool } from '../../ts/media/process';
import { probeStreams } from './ffprobe';

function movingSquare(channels: 1 | 3): VideoFrames {
  const v: VideoFrames = { frames: 8, channels, height: 15, width: 15, data: new Uint8Array(8 * channels * 15 * 15) };
  for (let t = 0; t < 8; t++) for (let c = 0; c < channels; c++) v.data[((t * channels + c) * 15 + 7) * 15 + t] = 255;
  return v;
}

describe('png and mp4', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mmdisco-mp4-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes an odd-sized grey clip with sound into an mp4 with one video and one audio stream', async () => {
    const samples = Float32Array.from({ length: 25600 }, (_, i) => 0.3 * Math.sin(i / 5));
    const file = join(dir, 'clip.mp4');
    await writeMp4(file, movingSquare(1), { fps: 5, scale: 3, audio: { sampleRate: 16000, samples } });
    const streams = await probeStreams(file);
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video?.width, 46); // 45 padded to even
    assert.equal(audio?.codec_name, 'aac');
    assert.ok(Math.abs(Number(video?.duration) - 1.6) < 0.05, `video duration ${video?.duration}`);
  });

  it('names the missing tool when ffmpeg cannot be found', async () => {
    await assert.rejects(runTool('ffmpeg-that-does-not-exist', ['-version']), /ffmpeg-that-does-not-exist is not installed/);
  });

  it('writes PNG frames and contact sheets of the expected size', async () => {
    const { loadImage } = await import('@napi-rs/canvas');
    const frame = await loadImage(framePng(movingSquare(3), 2, 4));
    assert.deepEqual([frame.width, frame.height], [60, 60]);
    const sheet = await loadImage(contactSheetPng([movingSquare(1), movingSquare(3)], { scale: 2, gap: 1 }));
    assert.deepEqual([sheet.width, sheet.height], [1 + 8 * 31, 1 + 2 * 31]);
  });

  it('gives each contact-sheet row the height of its own clip', async () => {
    const { createCanvas, loadImage } = await import('@napi-rs/canvas');
    const strip: VideoFrames = { frames: 8, channels: 1, height: 5, width: 15, data: new Uint8Array(8 * 5 * 15).fill(200) };
    const sheet = await loadImage(contactSheetPng([movingSquare(1), strip, movingSquare(1)], { scale: 2, gap: 1 }));
    assert.deepEqual([sheet.height, sheet.width], [1 + 31 + 11 + 31, 1 + 8 * 31]);
    const canvas = createCanvas(sheet.width, sheet.height);
    canvas.getContext('2d').drawImage(sheet, 0, 0);
    const grey = (x: number, y: number) => canvas.getContext('2d').getImageData(x, y, 1, 1).data[0];
    // The strip starts right under the first clip and the third clip right under the strip, one gap apart.
    assert.deepEqual([grey(1, 31), grey(1, 32), grey(1, 41), grey(1, 42), grey(1, 43)], [0x40, 200, 200, 0x40, 0]);
  });
});
