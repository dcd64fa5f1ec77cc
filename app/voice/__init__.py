"""The voice pipeline: voice activity detection, end of turn, speech to text and text to speech, behind small
interfaces (``ports.py``) with adapters chosen by settings (``stack.py``). Nothing here knows about sockets: the
per-connection handling is app/server/voice.py.

Models load once per process, lazily, on first use; inference runs in a thread pool, never on the event loop.
"""
