// AudioWorklet (runs on the audio thread): the microphone at the context's rate (16 kHz) in 512-sample int16
// frames (32 ms), each posted to the page with its RMS level. Loaded by capture.js with audioWorklet.addModule.
/* global AudioWorkletProcessor, registerProcessor */
const FRAME = 512;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.energy = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const v = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      this.energy += v * v;
      if (this.filled === FRAME) {
        const pcm = this.frame.buffer;
        this.port.postMessage({ pcm, rms: Math.sqrt(this.energy / FRAME) }, [pcm]);
        this.frame = new Int16Array(FRAME);
        this.filled = 0;
        this.energy = 0;
      }
    }
    return true;
  }
}

registerProcessor("barraiser-capture", CaptureProcessor);
