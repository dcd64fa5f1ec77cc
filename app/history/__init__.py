"""Looking back at rounds: the graded replay of a session, forks that re-answer a turn from its checkpoint, and
progress across a browser's sessions (with the practice plan that follows from it).

Above ``app.interview`` (forks run the round driver) and below ``app.server``, which serves all of it
(app/server/history.py).
"""
