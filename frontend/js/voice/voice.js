// Voice mode in the interview room: the mic button, push-to-talk, "I'm done", the level meter, live captions of
// both sides and the "still listening" cue; the microphone goes to the server as binary int16 frames over the
// interview socket, and the interviewer's voice comes back as binary frames (docs/protocol.md, "Voice").
// Text and voice mix freely: the answer box stays usable, and any problem with the microphone falls back to it.
import { el } from "../dom.js";
import { openMicrophone, MicError } from "./capture.js";
import { Player } from "./playback.js";
import { parseAudioFrame, meterLevel } from "./framing.js";

const VOICE_FRAMES = new Set(["voice_status", "caption", "audio_chunk", "audio_pause", "audio_resume", "audio_stop", "voice_timing", "voice_taken_back"]);
const FALLBACK_CODES = new Set(["voice_unavailable", "audio_not_supported"]);
const STATUS_TEXT = {
  off: "Voice is off: type your answers, or turn the microphone on.",
  starting: "Opening the microphone\u2026",
  listening: "Listening\u2026 answer whenever you are ready.",
  hearing: "Hearing you\u2026",
  holding: "Still listening \u2014 take your time. Say or click \u201cI'm done\u201d when you have finished.",
  thinking: "Sending your answer\u2026",
  speaking: "The interviewer is speaking (just talk to interrupt).",
};
const ONSET_RMS = 0.02; // the page's own rough onset detector, only to measure barge-in latency

function prefKey(roundId) {
  const id = typeof roundId === "function" ? roundId() : roundId;
  return `barraiser.voice.${id || "any"}`;
}

export function createVoice({ sock, roundId, onSpoken, onTakenBack }) {
  let on = false;
  let ptt = false;
  let mic = null;
  let status = "off";
  let ready = false; // the server has started voice for this connection: audio may flow
  let pendingChunk = null; // the audio_chunk frame announcing the next binary frame
  const player = new Player({
    onEnded: (utterance) => {
      sock.send({ type: "voice", action: "playback", utterance, state: "ended" });
      if (status === "speaking") setStatus("listening");
    },
  });
  const debug = { framesSent: 0, chunksReceived: 0, bytesReceived: 0, timings: [], onsetAt: null, pauseLatencyMs: [], player: player.stats, captions: [] };
  window.__barraiserVoice = debug; // read by the browser test and handy in the console

  const micBtn = el("button", { type: "button", class: "btn btn--ghost voice__mic", "data-testid": "mic", "aria-pressed": "false", onclick: () => toggle() }, "Answer by voice");
  const pttToggle = el("input", { type: "checkbox", "data-testid": "ptt-toggle", onchange: () => setPtt(pttToggle.checked) });
  const pttBtn = el("button", { type: "button", class: "btn btn--small voice__ptt", "data-testid": "ptt", hidden: true, text: "Hold to talk" });
  const doneBtn = el("button", { type: "button", class: "btn btn--small", "data-testid": "voice-done", disabled: true, text: "I'm done", onclick: () => done() });
  const meterBar = el("span", { class: "voice__meter-bar" });
  const meter = el("span", { class: "voice__meter", "data-testid": "level", role: "meter", "aria-label": "Microphone level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, meterBar);
  const statusEl = el("p", { class: "voice__status muted small", "data-testid": "voice-status", "aria-live": "polite", text: STATUS_TEXT.off });
  const youCaption = el("p", { class: "voice__caption voice__caption--you", "data-testid": "caption-candidate" });
  const themCaption = el("p", { class: "voice__caption voice__caption--them", "data-testid": "caption-interviewer" });
  const notice = el("p", { class: "voice__notice small", "data-testid": "voice-notice", hidden: true });
  const element = el("section", { class: "voice", "data-testid": "voice", "data-state": "off", "aria-label": "Voice" },
    el("div", { class: "voice__bar" }, micBtn, meter,
      el("label", { class: "voice__ptt-label small" }, pttToggle, " Push to talk"), pttBtn, doneBtn),
    statusEl, themCaption, youCaption, notice);

  const holdStart = (ev) => {
    ev.preventDefault();
    if (on && ptt) sock.send({ type: "voice", action: "ptt_down" });
  };
  const holdEnd = () => {
    if (on && ptt) sock.send({ type: "voice", action: "ptt_up" });
  };
  pttBtn.addEventListener("pointerdown", holdStart);
  pttBtn.addEventListener("pointerup", holdEnd);
  pttBtn.addEventListener("pointerleave", holdEnd);
  pttBtn.addEventListener("keydown", (ev) => { if (ev.key === " " && !ev.repeat) holdStart(ev); });
  pttBtn.addEventListener("keyup", (ev) => { if (ev.key === " ") holdEnd(); });

  function setStatus(next) {
    status = next;
    element.setAttribute("data-state", next);
    statusEl.textContent = STATUS_TEXT[next] || next;
    doneBtn.disabled = !(on && (next === "hearing" || next === "holding"));
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function setPtt(value) {
    ptt = value;
    pttBtn.hidden = !value;
    if (on) sock.send({ type: "voice", action: "start", push_to_talk: ptt, sample_rate: 16000 });
  }

  async function start() {
    if (on) return;
    showNotice("");
    setStatus("starting");
    try {
      mic = await openMicrophone(onMicFrame);
    } catch (err) {
      mic = null;
      setStatus("off");
      showNotice(err instanceof MicError ? err.message : "The microphone could not be opened. Keep typing.");
      return;
    }
    on = true;
    micBtn.setAttribute("aria-pressed", "true");
    micBtn.textContent = "Stop voice";
    localStorage.setItem(prefKey(roundId), "on");
    sock.send({ type: "voice", action: "start", push_to_talk: ptt, sample_rate: 16000 });
  }

  function stop(reason) {
    if (mic) mic.close();
    mic = null;
    if (on) sock.send({ type: "voice", action: "stop" });
    on = false;
    ready = false;
    player.stop();
    micBtn.setAttribute("aria-pressed", "false");
    micBtn.textContent = "Answer by voice";
    meterBar.style.width = "0%";
    setStatus("off");
    if (reason) showNotice(reason);
  }

  function toggle() {
    if (on) {
      localStorage.setItem(prefKey(roundId), "off");
      stop();
    } else {
      start();
    }
  }

  function done() {
    if (on) sock.send({ type: "voice", action: "done" });
  }

  function onMicFrame(pcm, rms) {
    const level = meterLevel(rms);
    meterBar.style.width = `${Math.round(level * 100)}%`;
    meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    if (rms > ONSET_RMS && player.playing && debug.onsetAt == null) debug.onsetAt = performance.now();
    if (on && ready && sock.sendBinary(pcm)) debug.framesSent += 1;
  }

  /** A frame from the socket: true if it was voice's alone (the room need not see it). */
  function handleFrame(frame) {
    switch (frame.type) {
      case "voice_status":
        ready = on && frame.state !== "off";
        if (on) setStatus(frame.state);
        return true;
      case "caption":
        youCaption.textContent = frame.text;
        youCaption.classList.toggle("voice__caption--final", Boolean(frame.final));
        debug.captions.push(frame);
        if (frame.final && onSpoken) onSpoken(frame.text); // the room shows it as the answer just sent
        return true;
      case "audio_chunk":
        pendingChunk = frame;
        return true;
      case "audio_pause":
        player.pause();
        if (debug.onsetAt != null) debug.pauseLatencyMs.push(Math.round(performance.now() - debug.onsetAt));
        return true;
      case "audio_resume":
        player.resume();
        debug.onsetAt = null;
        return true;
      case "audio_stop": {
        const played = player.stop(frame.utterance);
        debug.onsetAt = null;
        sock.send({ type: "barge_in", utterance: frame.utterance, played_ms: played });
        themCaption.textContent = "";
        return true;
      }
      case "voice_timing":
        debug.timings.push(frame);
        return true;
      case "voice_taken_back": // the candidate went on: the answer just sent continues (a `state` frame follows)
        debug.takenBack = (debug.takenBack || 0) + 1;
        if (onTakenBack) onTakenBack(frame.text);
        return true;
      case "state":
        youCaption.textContent = "";
        roundKnown();
        return false;
      case "error":
        if (FALLBACK_CODES.has(frame.code)) stop(`${frame.message}`);
        return false;
      default:
        return VOICE_FRAMES.has(frame.type);
    }
  }

  function handleBinary(buffer) {
    const chunk = parseAudioFrame(buffer);
    if (!chunk) return;
    debug.chunksReceived += 1;
    debug.bytesReceived += buffer.byteLength;
    if (!on) return;
    if (pendingChunk && pendingChunk.seq === chunk.seq) themCaption.textContent = pendingChunk.text;
    pendingChunk = null;
    youCaption.textContent = "";
    player.play(chunk.utterance, chunk.samples, chunk.sampleRate);
    setStatus("speaking");
  }

  /** The socket (re)connected: a new server connection needs voice started again. */
  function onSocket(sockStatus) {
    if (sockStatus !== "connected") ready = false;
    if (sockStatus === "connected" && on) sock.send({ type: "voice", action: "start", push_to_talk: ptt, sample_rate: 16000 });
  }

  /** The round is known (first `state` frame): remind the candidate if they used voice in this round before. */
  function roundKnown() {
    if (!on && localStorage.getItem(prefKey(roundId)) === "on") {
      // the browser needs a click before it may open the microphone or play audio
      showNotice("You used voice in this round before: click \u201cAnswer by voice\u201d to turn it back on.");
    }
  }

  return {
    element,
    roundKnown,
    handleFrame,
    handleBinary,
    onSocket,
    start,
    destroy() {
      // the microphone closes now; the interviewer's last words (the goodbye) may finish playing
      const left = player.ctx ? Math.max(0, player.endAt - player.ctx.currentTime) : 0;
      if (mic) mic.close();
      mic = null;
      on = false;
      setTimeout(() => player.close(), Math.ceil(left * 1000) + 100);
    },
  };
}
