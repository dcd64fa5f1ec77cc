// The page's voice helpers: the interviewer's audio framing, the level meter, and the round's speech analytics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAudioFrame, meterLevel, AUDIO_HEADER_BYTES } from "../../frontend/js/voice/framing.js";
import { roundSpeech, GOOD_RANGES } from "../../frontend/js/voice/analytics.js";

function frame(seq, rate, utterance, samples) {
  const buf = new ArrayBuffer(AUDIO_HEADER_BYTES + samples.length * 2);
  const v = new DataView(buf);
  [0x42, 0x52, 0x41, 0x31].forEach((b, i) => v.setUint8(i, b));
  v.setUint32(4, seq, true);
  v.setUint32(8, rate, true);
  v.setUint32(12, utterance, true);
  samples.forEach((s, i) => v.setInt16(AUDIO_HEADER_BYTES + 2 * i, s, true));
  return buf;
}

test("an audio frame's header and samples are read as the server writes them", () => {
  const parsed = parseAudioFrame(frame(7, 24000, 3, [0, 16384, -32768, 32767]));
  assert.equal(parsed.seq, 7);
  assert.equal(parsed.sampleRate, 24000);
  assert.equal(parsed.utterance, 3);
  assert.deepEqual([...parsed.samples], [0, 0.5, -1, 32767 / 32768]);
});

test("anything else is not an audio frame", () => {
  assert.equal(parseAudioFrame(new ArrayBuffer(8)), null);
  const wrong = frame(1, 16000, 1, [1, 2]);
  new DataView(wrong).setUint8(0, 0x58);
  assert.equal(parseAudioFrame(wrong), null);
  assert.equal(parseAudioFrame("BRA1"), null);
});

test("the level meter is logarithmic and bounded", () => {
  assert.equal(meterLevel(0), 0);
  assert.equal(meterLevel(1), 1);
  assert.ok(Math.abs(meterLevel(0.001) - 0) < 1e-9); // -60 dB
  assert.ok(meterLevel(0.1) > 0.6 && meterLevel(0.1) < 0.7); // -20 dB
});

test("no spoken turn, no speech summary", () => {
  assert.equal(roundSpeech([{ role: "candidate", text: "typed" }]), null);
  assert.equal(roundSpeech(undefined), null);
});

test("the round's speech figures add the turns up and say which are in range", () => {
  const turns = [
    { role: "interviewer", text: "Q" },
    { role: "candidate", source: "voice", speech: { words: 140, wpm: 140, fillers: 2, long_pauses: 1, speech_s: 60, first_word_after_s: 2, interviewer_s: 20 } },
    { role: "candidate", source: "voice", low_confidence: true, speech: { words: 100, wpm: 200, fillers: 8, long_pauses: 3, speech_s: 30, first_word_after_s: 9, interviewer_s: 10 } },
    { role: "candidate", text: "typed" },
  ];
  const s = roundSpeech(turns);
  assert.equal(s.turns, 2);
  assert.equal(s.words, 240);
  assert.equal(s.lowConfidence, 1);
  assert.equal(s.figures.wpm, Math.round(240 / (1 + 0.5)));
  assert.equal(s.figures.fillers_per_min, Math.round((10 / 1.5) * 10) / 10);
  assert.equal(s.figures.long_pauses, 4);
  assert.equal(s.figures.first_word_after_s, 5.5);
  assert.equal(s.figures.talk_ratio, 0.75);
  assert.equal(s.verdicts.wpm, "good");
  assert.equal(s.verdicts.fillers_per_min, "high");
  assert.equal(s.verdicts.long_pauses, "high");
  assert.equal(s.verdicts.talk_ratio, "good");
  for (const key of Object.keys(s.figures)) assert.ok(GOOD_RANGES[key].text);
});
