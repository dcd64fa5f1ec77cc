// Error codes the server sends in `error` frames (docs/protocol.md). Checked against the server by tests/unit/test_protocol_codes.py.
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
  "model_unavailable": "retryable",
  "model_output_invalid": "retryable",
  "internal_error": "retryable"
} /* error-codes:end */;
export const IDLE_CLOSE_REASON = "idle timeout";
