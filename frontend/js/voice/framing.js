// The interviewer's audio frames (docs/protocol.md, "Voice"): a 16-byte header, then int16 LE mono PCM.
//   bytes 0-3  "BRA1"    bytes 4-7  chunk sequence number    bytes 8-11  sample rate    bytes 12-15  utterance
export const AUDIO_HEADER_BYTES = 16;
const MAGIC = [0x42, 0x52, 0x41, 0x31]; // "BRA1"

/** {seq, sampleRate, utterance, samples: Float32Array} of a binary frame, or null if it is not one. */
export function parseAudioFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < AUDIO_HEADER_BYTES) return null;
  const view = new DataView(buffer);
  for (let i = 0; i < 4; i++) if (view.getUint8(i) !== MAGIC[i]) return null;
  const seq = view.getUint32(4, true);
  const sampleRate = view.getUint32(8, true);
  const utterance = view.getUint32(12, true);
  const count = Math.floor((buffer.byteLength - AUDIO_HEADER_BYTES) / 2);
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = view.getInt16(AUDIO_HEADER_BYTES + 2 * i, true) / 32768;
  return { seq, sampleRate, utterance, samples };
}

/** A level meter reading (0..1) from an RMS value: a log scale, -60 dB at 0. */
export function meterLevel(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}
