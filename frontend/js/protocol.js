// Error codes the server sends in `error` frames (docs/protocol.md). Checked against the server by tests/unit/test_protocol_codes.py.
// "rejected": the answer just sent was not taken (it goes back in the box); "retryable": a server fault after which
// a reconnect retries the interviewer's turn (an answer not yet confirmed by `answer_received` is sent again then).
export const ERROR_CODES = /* error-codes:begin */ {
  "answer_too_long": "rejected",
  "interviewer_speaking": "rejected",
  "round_ended": "rejected",
  "rate_limited": "rejected",
  "invalid_frame": "rejected",
  "invalid_json": "rejected",
  "frame_too_large": "rejected",
  "unknown_type": "rejected",
  "audio_not_supported": "rejected",
  "voice_not_started": "rejected",
  "audio_invalid": "rejected",
  "voice_unavailable": "rejected",
  "stale_turn": "rejected",
  "not_owner": "rejected",
  "invalid_text": "rejected",
  "model_unavailable": "retryable",
  "model_output_invalid": "retryable",
  "internal_error": "retryable",
  "storage_unavailable": "retryable"
} /* error-codes:end */;
export const IDLE_CLOSE_REASON = "idle timeout";
// The server closes a socket with this code when another tab takes the session over (no automatic reconnect then).
export const TAKEN_OVER_CLOSE_CODE = 4001;
