"""Progress across sessions (app/history/progress.py) and the planner's preferences (Catalog.plan_questions):
series per round / topic / principle, weakest areas, spaced repetition of missed questions, and a practice plan
that opens with what is due and favours the weak spots."""

from __future__ import annotations

from app.history.progress import DAY_S, SessionData, compute_progress

T0 = 1_700_000_000.0


def grade(turn: int, overall: int | None, question: str | None = None, kind: str = "technical", **extra) -> dict:
    return {"turn": turn, "overall": overall, "kind": kind, "question_id": question, **extra}


def session(sid: str, at: float, grades: list[dict], round_id: str = "ml_breadth", **kw) -> SessionData:
    return SessionData(sid, round_id, "L5", at, {"grades": grades, "turns": [], **kw.pop("values", {})}, **kw)


def test_series_weakest_and_due(catalog):
    sessions = [
        session("a", T0, [grade(1, 2, "ml-bias-variance"), grade(3, 1, "ml-bias-variance"), grade(5, None)]),
        session(
            "b",
            T0 + DAY_S,
            [
                grade(1, 4, "ml-l1-vs-l2"),
                grade(3, 2, "ml-l1-vs-l2", kind="lp", principle="Dive Deep"),
                grade(5, 3, None, kind="closing"),
            ],
        ),
    ]
    p = compute_progress(sessions, catalog, now=T0 + DAY_S + 60)
    assert p.sessions == 2 and p.graded_answers == 4  # no-evidence and closing answers are not counted
    rounds = [s for s in p.series if s.kind == "round"]
    assert [(pt.session_id, pt.level) for pt in rounds[0].points] == [("a", 1.5), ("b", 3.0)]
    principles = {s.id: s for s in p.series if s.kind == "principle"}
    assert [pt.level for pt in principles["Dive Deep"].points] == [2.0]
    topics = {s.id: s for s in p.series if s.kind == "topic"}
    assert "bias_variance" in topics and "regularization" in topics
    assert not any(t.startswith("named_") for t in topics)
    weak = [(w.kind, w.id) for w in p.weakest]
    assert ("topic", "bias_variance") in weak and ("principle", "Dive Deep") in weak
    assert ("topic", "regularization") not in weak  # 4.0
    assert weak.index(("topic", "bias_variance")) < weak.index(("principle", "Dive Deep"))  # 1.5 before 2.0
    due = {d.question_id: d for d in p.due}
    assert due["ml-bias-variance"].box == 0 and due["ml-bias-variance"].due
    assert "ml-l1-vs-l2" not in due  # never missed
    s = p.suggestion
    assert s is not None and s.round == "ml_breadth" and s.level == "L5"
    assert s.due_ids == ["ml-bias-variance"] and s.prefer["bias_variance"] == 3.0
    assert s.focus[0] == catalog.topics["bias_variance"]


def test_spaced_repetition_boxes(catalog):
    q = "ml-bias-variance"
    miss = session("a", T0, [grade(1, 2, q)])
    hit1 = session("b", T0 + DAY_S, [grade(1, 3, q)])
    hit2 = session("c", T0 + 3 * DAY_S, [grade(1, 4, q)])
    p = compute_progress([miss, hit1], catalog, now=T0 + DAY_S + 10)
    [d] = p.due
    assert d.box == 1 and d.due_at == T0 + 2 * DAY_S and not d.due  # one success: again after a day
    p = compute_progress([miss, hit1], catalog, now=T0 + 2 * DAY_S + 1)
    assert p.due[0].due
    p = compute_progress([miss, hit1, hit2], catalog, now=T0 + 3 * DAY_S + 10)
    assert p.due[0].box == 2 and p.due[0].due_at == T0 + 6 * DAY_S
    # a debrief drill names a weak key point; the grade decides the box
    drilled = session(
        "d",
        T0 + 4 * DAY_S,
        [grade(1, 4, q)],
        values={"debrief": {"drills": [{"question_id": q, "key_point": "diagnosis"}]}},
    )
    p = compute_progress([miss, hit1, hit2, drilled], catalog, now=T0 + 4 * DAY_S + 10)
    assert p.due[0].box == 3 and not p.due[0].due
    assert [(k.question_id, k.key_point) for k in p.weak_key_points] == [(q, "diagnosis")]
    # a later session that covers it clears the key point; a miss sends the question back to box 0
    relapse = session("e", T0 + 5 * DAY_S, [grade(1, 2, q)], values={"debrief": {"drills": []}})
    p = compute_progress([miss, hit1, hit2, drilled, relapse], catalog, now=T0 + 5 * DAY_S + 10)
    assert p.due[0].box == 0 and p.due[0].due and p.weak_key_points == []
    # mastered after enough successes
    hits = [session(f"h{i}", T0 + (5 + i) * DAY_S, [grade(1, 4, q)]) for i in range(5)]
    p = compute_progress([miss, *hits], catalog, now=T0 + 20 * DAY_S)
    assert p.due == []


def test_a_fork_counts_only_its_new_answers(catalog):
    original = session("a", T0, [grade(1, 1, "ml-bias-variance"), grade(3, 1, "ml-bias-variance")])
    fork = session("f", T0 + 60, [grade(1, 1, "ml-bias-variance"), grade(3, 4, "ml-bias-variance")], from_turn=3)
    p = compute_progress([original, fork], catalog, now=T0 + 120)
    rounds = next(s for s in p.series if s.kind == "round")
    assert [(pt.session_id, pt.level, pt.answers) for pt in rounds.points] == [("a", 1.0, 2), ("f", 4.0, 1)]


def test_no_sessions_no_suggestion(catalog):
    p = compute_progress([], catalog, now=T0)
    assert p.series == [] and p.suggestion is None


def test_the_planner_opens_with_due_questions_and_prefers_weak_spots(catalog):
    base = catalog.plan_questions("ml_breadth", "L5", seed="s")
    assert base == catalog.plan_questions("ml_breadth", "L5", seed="s", prefer={}, due=())  # unchanged by default
    budget = catalog.rounds["ml_breadth"].question_budget
    last = base[-1]
    plan = catalog.plan_questions("ml_breadth", "L5", seed="s", due=[last], avoid={last})
    assert plan[0] == last  # due wins over avoid
    assert sorted(plan) == sorted(base)
    # preferring a topic brings its questions into the budgeted part of the plan
    pool = catalog.questions_for("ml_breadth", "L5")
    topic = "information_theory"
    with_topic = {q.id for q in pool if topic in q.topics}
    assert with_topic
    planned = catalog.plan_questions("ml_breadth", "L5", seed="s", prefer={topic: 3.0})[:budget]
    assert with_topic & set(planned)
    # a principle is preferred through the questions whose LP bridges lead to it
    principle = next(b.principle for q in pool for b in q.lp_bridges)
    bridged = {q.id for q in pool if any(b.principle == principle for b in q.lp_bridges)}
    planned = catalog.plan_questions("ml_breadth", "L5", seed="s", prefer={principle: 5.0})[:budget]
    assert planned[0] in bridged
