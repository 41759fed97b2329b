/**
 * Number of one-to-one matches between audio onsets and video events (seconds) within ± tolerance
 * (inclusive): candidate pairs are taken greedily in order of increasing |Δt|, each onset and each event
 * used at most once.
 */
export function matchOnsets(audioOnsets: number[], videoEvents: number[], toleranceSeconds: number): number {
  if (!(toleranceSeconds >= 0)) throw new Error(`matchOnsets: tolerance must be ≥ 0, got ${toleranceSeconds}`);
  const candidates: { gap: number; audio: number; video: number }[] = [];
  audioOnsets.forEach((a, i) => {
    videoEvents.forEach((v, j) => {
      const gap = Math.abs(a - v);
      if (gap <= toleranceSeconds) candidates.push({ gap, audio: i, video: j });
    });
  });
  candidates.sort((p, q) => p.gap - q.gap);
  const audioUsed = new Uint8Array(audioOnsets.length);
  const videoUsed = new Uint8Array(videoEvents.length);
  let matched = 0;
  for (const { audio, video } of candidates) {
    if (audioUsed[audio] || videoUsed[video]) continue;
    audioUsed[audio] = 1;
    videoUsed[video] = 1;
    matched++;
  }
  return matched;
}

/**
 * Audio-video onset F1 of one pair: precision = matches / audio onsets, recall = matches / video events,
 * F1 = 2·matches / (onsets + events). No onsets and no events is perfect agreement (1); events on one
 * side only is 0.
 */
export function onsetF1(audioOnsets: number[], videoEvents: number[], toleranceSeconds: number): number {
  const total = audioOnsets.length + videoEvents.length;
  const matched = matchOnsets(audioOnsets, videoEvents, toleranceSeconds);
  return total === 0 ? 1 : (2 * matched) / total;
}

/** Mean of onsetF1 over pairs (each pair weighs the same, however many events it has). */
export function meanOnsetF1(pairs: { audio: number[]; video: number[] }[], toleranceSeconds: number): number {
  if (pairs.length === 0) throw new Error('meanOnsetF1: no pairs');
  let sum = 0;
  for (const pair of pairs) sum += onsetF1(pair.audio, pair.video, toleranceSeconds);
  return sum / pairs.length;
}
