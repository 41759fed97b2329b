import { runTool } from '../../ts/media/process';

/** Streams of a media file as ffprobe reports them. */
export async function probeStreams(file: string): Promise<{ codec_type: string; codec_name: string; width?: number; duration?: string }[]> {
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return JSON.parse(stdout.toString()).streams;
}
