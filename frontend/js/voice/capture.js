// The microphone: getUserMedia (echo cancellation on, so the interviewer's voice is not heard as the candidate)
// → AudioContext at 16 kHz (the browser resamples) → the capture worklet → onFrame(int16 ArrayBuffer, rms).

export class MicError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "unsupported" | "denied" | "no_device" | "failed"
  }
}

export async function openMicrophone(onFrame) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof AudioWorkletNode === "undefined") {
    throw new MicError("unsupported", "This browser cannot capture audio here (it needs a secure page: https or localhost). Keep typing.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (err) {
    if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
      throw new MicError("denied", "Microphone access was refused. Allow it in the address bar, or keep typing.");
    }
    if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) {
      throw new MicError("no_device", "No microphone was found. Plug one in, or keep typing.");
    }
    throw new MicError("failed", `The microphone could not be opened (${err && err.name}). Keep typing.`);
  }
  const ctx = new AudioContext({ sampleRate: 16000, latencyHint: "interactive" });
  try {
    await ctx.audioWorklet.addModule(new URL("./worklet.js", import.meta.url));
  } catch {
    stream.getTracks().forEach((t) => t.stop());
    ctx.close();
    throw new MicError("failed", "The audio worklet could not be loaded. Keep typing.");
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "barraiser-capture");
  node.port.onmessage = (ev) => onFrame(ev.data.pcm, ev.data.rms);
  source.connect(node);
  // the worklet must be pulled by the graph; a muted gain keeps it running without echoing the mic
  const mute = ctx.createGain();
  mute.gain.value = 0;
  node.connect(mute).connect(ctx.destination);
  if (ctx.state === "suspended") await ctx.resume();
  return {
    label: stream.getAudioTracks()[0] ? stream.getAudioTracks()[0].label : "microphone",
    close() {
      node.port.onmessage = null;
      stream.getTracks().forEach((t) => t.stop());
      ctx.close();
    },
  };
}
