// The interviewer's voice: chunks (one sentence each) scheduled back to back on an AudioContext with a small
// jitter buffer. pause() / resume() suspend the context (barge-in: silence within one render quantum), stop()
// drops the rest of an utterance and says how much of it was heard.
const JITTER_S = 0.06; // the first chunk of an utterance starts this far ahead, so the next ones never underrun

export class Player {
  constructor({ onEnded } = {}) {
    this.ctx = null;
    this.onEnded = onEnded || (() => {});
    this.utterances = new Map(); // number -> {sources: [{node, start, duration}], stopped}
    this.endAt = 0; // context time when the last scheduled chunk ends
    this.stats = { chunks: 0, played: 0, pausedAt: null, stoppedAt: null, resumed: 0 };
  }

  _context() {
    if (!this.ctx) this.ctx = new AudioContext({ latencyHint: "interactive" });
    if (this.ctx.state === "suspended" && !this.paused) this.ctx.resume();
    return this.ctx;
  }

  /** Queue one chunk of an utterance. */
  play(utterance, samples, sampleRate) {
    const ctx = this._context();
    let u = this.utterances.get(utterance);
    if (!u) {
      u = { sources: [], stopped: false };
      this.utterances.set(utterance, u);
    }
    if (u.stopped) return;
    const buffer = ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const node = ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(ctx.destination);
    const start = Math.max(ctx.currentTime + (this.endAt > ctx.currentTime ? 0 : JITTER_S), this.endAt);
    const source = { node, start, duration: buffer.duration };
    node.onended = () => {
      this.stats.played += 1;
      if (!u.stopped && u.sources[u.sources.length - 1] === source) this.onEnded(utterance);
    };
    node.start(start);
    this.endAt = start + buffer.duration;
    u.sources.push(source);
    this.stats.chunks += 1;
  }

  get playing() {
    return Boolean(this.ctx) && !this.paused && this.endAt > this.ctx.currentTime;
  }

  pause() {
    if (!this.ctx || this.paused) return;
    this.paused = true;
    this.stats.pausedAt = performance.now();
    this.ctx.suspend();
  }

  resume() {
    if (!this.ctx || !this.paused) return;
    this.paused = false;
    this.stats.resumed += 1;
    this.ctx.resume();
  }

  /** Milliseconds of ``utterance`` heard so far. */
  playedMs(utterance) {
    const u = this.utterances.get(utterance);
    if (!u || !this.ctx) return 0;
    const now = this.ctx.currentTime;
    return Math.round(1000 * u.sources.reduce((acc, s) => acc + Math.max(0, Math.min(s.duration, now - s.start)), 0));
  }

  /** Drop the rest of an utterance (or everything): returns how much of it was heard. */
  stop(utterance) {
    const numbers = utterance == null ? [...this.utterances.keys()] : [utterance];
    let played = 0;
    for (const n of numbers) {
      const u = this.utterances.get(n);
      if (!u || u.stopped) continue;
      played = this.playedMs(n);
      u.stopped = true;
      for (const s of u.sources) {
        try {
          s.node.stop();
        } catch {
          /* not started yet */
        }
      }
    }
    this.endAt = 0;
    this.stats.stoppedAt = performance.now();
    if (this.ctx && this.paused) {
      this.paused = false;
      this.ctx.resume();
    }
    return played;
  }

  close() {
    this.stop();
    if (this.ctx) this.ctx.close();
    this.ctx = null;
  }
}
