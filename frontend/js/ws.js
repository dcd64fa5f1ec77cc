// WebSocket client for /ws/sessions/{id}?token=... with automatic reconnect and exponential backoff.
//
// Status values reported through onStatus:
//   "connecting"    first attempt in progress
//   "connected"     socket open
//   "reconnecting"  connection lost, a retry is scheduled or in progress
//   "paused"        the server closed the socket after BARRAISER_IDLE_TIMEOUT_S without a client frame (close
//                   1000 with IDLE_CLOSE_REASON); no retries until reconnectNow() (typing, tab shown, back online)
//   "unauthorized"  the server refused the token (close code 1008); no further retries
//   "closed"        closed by us (close())
import { IDLE_CLOSE_REASON } from "./protocol.js";

const POLICY_VIOLATION = 1008;
const NORMAL_CLOSURE = 1000;

export function sessionSocketUrl(sessionId, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ token });
  return `${scheme}//${location.host}/ws/sessions/${encodeURIComponent(sessionId)}?${q}`;
}

export class SessionSocket {
  /**
   * @param {string} url
   * @param {{onFrame?: (frame: object) => void, onStatus?: (status: string, info?: object) => void,
   *          onBinary?: (data: ArrayBuffer) => void}} handlers  onBinary: the interviewer's audio (voice mode)
   * @param {{baseDelay?: number, maxDelay?: number}} options
   */
  constructor(url, { onFrame, onStatus, onBinary } = {}, { baseDelay = 500, maxDelay = 15000 } = {}) {
    this.url = url;
    this.onFrame = onFrame || (() => {});
    this.onBinary = onBinary || (() => {});
    this.onStatus = onStatus || (() => {});
    this.baseDelay = baseDelay;
    this.maxDelay = maxDelay;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.status = "idle";
    this.nextRetryAt = 0;
    this._onOnline = () => this.reconnectNow();
    this._onVisible = () => {
      const waiting = this.status === "reconnecting" || this.status === "paused";
      if (document.visibilityState === "visible" && waiting) this.reconnectNow();
    };
    window.addEventListener("online", this._onOnline);
    document.addEventListener("visibilitychange", this._onVisible);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this._setStatus(this.attempt === 0 && this.status !== "reconnecting" ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this._setStatus("connected");
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      if (ev.data instanceof ArrayBuffer) {
        this.onBinary(ev.data);
        return;
      }
      if (typeof ev.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") this.onFrame(frame);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === POLICY_VIOLATION) {
        this.stopped = true;
        this._setStatus("unauthorized", { code: ev.code, reason: ev.reason });
        return;
      }
      if (ev.code === NORMAL_CLOSURE && ev.reason === IDLE_CLOSE_REASON) {
        // Reconnecting at once would only keep an unattended tab holding a socket: wait for the candidate.
        this.attempt = 0;
        this._setStatus("paused", { code: ev.code, reason: ev.reason });
        return;
      }
      this._scheduleRetry();
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  /** Send a client frame. Returns false when the socket is not open. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Send a binary frame (microphone audio). Returns false when the socket is not open. */
  sendBinary(data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(data);
    return true;
  }

  get isOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  /** Drop the current connection (if any) and connect again right away. */
  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
      if (this.status !== "reconnecting") return;
    }
    const old = this.ws;
    this.ws = null;
    if (old) {
      try {
        old.close();
      } catch {
        /* ignore */
      }
    }
    this.attempt = 0;
    this._setStatus("reconnecting");
    this.connect();
  }

  /** Force a fresh connection even if the current one looks healthy (e.g. after internal_error). */
  restart() {
    if (this.stopped) return;
    const old = this.ws;
    this.ws = null;
    if (old) {
      try {
        old.close(1000, "restart");
      } catch {
        /* ignore */
      }
    }
    this.attempt = 0;
    this._setStatus("reconnecting");
    this.connect();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this._onOnline);
    document.removeEventListener("visibilitychange", this._onVisible);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(1000, "bye");
      } catch {
        /* ignore */
      }
    }
    this._setStatus("closed");
  }

  _scheduleRetry() {
    if (this.stopped) return;
    // Exponential backoff with full jitter: base * 2^attempt, capped, randomised in [50%, 100%].
    const exp = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempt);
    const delay = Math.round(exp / 2 + Math.random() * (exp / 2));
    this.attempt += 1;
    this.nextRetryAt = Date.now() + delay;
    this._setStatus("reconnecting", { delay, attempt: this.attempt });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  _setStatus(status, info) {
    this.status = status;
    try {
      this.onStatus(status, info || {});
    } catch (err) {
      console.error(err);
    }
  }
}
