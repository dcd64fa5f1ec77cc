"""The interview turn-taker (app/voice/turns.py) on plain probability sequences: a thinking candidate is not a
candidate done, fillers and backchannels never end or interrupt a turn, barge-in pauses then cuts or resumes the
interviewer, and speech right after a turn ended takes it back."""

from __future__ import annotations

from app.voice.audio import FRAME_MS
from app.voice.ports import Transcript
from app.voice.turns import TurnConfig, TurnTaker, is_filler_only, is_unfinished, says_done


def frames_for(ms: float) -> int:
    return int(round(ms / FRAME_MS))


class Driver:
    """Feeds a TurnTaker and answers its speculation requests with the transcript a test says was spoken."""

    def __init__(self, config: TurnConfig | None = None):
        self.taker = TurnTaker(config or TurnConfig())
        self.events: list = []
        self.words = ""  # what the "recogniser" returns for the turn so far

    def feed(self, p: float, ms: float) -> list:
        got = []
        for _ in range(frames_for(ms)):
            for e in self.taker.feed(p):
                got.append(e)
                if e.kind == "speculate":  # the recogniser answers at once, with what was said so far
                    got += self.taker.transcribed(e.upto, Transcript(text=self.words))
        self.events += got
        return got

    def speak(self, words: str, ms: float) -> list:
        self.words = (self.words + " " + words).strip()
        return self.feed(0.9, ms)

    def pause(self, ms: float) -> list:
        return self.feed(0.05, ms)

    def kinds(self, events=None) -> list[str]:
        return [e.kind for e in (self.events if events is None else events)]


def test_the_text_rules():
    assert is_unfinished("I would start by looking at the")
    assert is_unfinished("we cut latency because")
    assert is_unfinished("First we rebuilt the service,")
    assert is_unfinished("and then, um")
    assert not is_unfinished("We cut latency by 40%.") and not is_unfinished("It took 3 weeks, roughly 20")
    assert not is_unfinished("We cut latency by forty percent.")
    assert is_filler_only("Mm-hmm.") and is_filler_only("uh") and is_filler_only("") and is_filler_only("Okay.")
    assert not is_filler_only("Okay, so the model overfits.")
    assert (
        says_done("And that's my answer.")
        and says_done("I'm done.")
        and not says_done("I'm done with the model part, next")
    )


def test_a_finished_sentence_ends_the_turn_after_the_silence_threshold():
    d = Driver()
    d.pause(1000)  # the question was just asked: nothing happens before the first word, however long
    assert d.kinds() == []
    d.speak("We rebuilt the payment service and cut latency by forty percent.", 3000)
    assert d.kinds() == ["speech_start"]
    events = d.pause(450)
    assert "commit" not in d.kinds(events)
    events = d.pause(150)
    assert d.kinds(events)[-1] == "commit"
    commit = events[-1]
    assert commit.transcript is not None and commit.transcript.text.startswith("We rebuilt")


def test_a_three_second_pause_mid_sentence_does_not_end_the_turn():
    d = Driver()
    d.speak("I would start by looking at the", 2000)
    d.pause(3000)  # thinking, mid-clause
    assert "commit" not in d.kinds()
    assert "listening" in d.kinds(), "the page is told the turn is held: 'still listening'"
    d.speak("conversion funnel, then the data quality.", 2500)
    d.pause(600)
    assert d.kinds().count("commit") == 1


def test_an_unfinished_sentence_ends_after_the_grace_when_nothing_follows():
    d = Driver(TurnConfig(unfinished_ms=3500))
    d.speak("I would start by looking at the", 2000)
    d.pause(3400)
    assert "commit" not in d.kinds()
    d.pause(200)
    assert d.kinds()[-1] == "commit"


def test_a_candidate_who_has_just_started_gets_a_longer_pause():
    d = Driver(TurnConfig(early_ms=1200, early_speech_ms=1500))
    d.speak("So.", 600)
    d.pause(1000)
    assert "commit" not in d.kinds()
    d.speak("The first thing I would check is the data.", 2500)
    d.pause(600)
    assert d.kinds().count("commit") == 1


def test_fillers_and_noises_alone_are_not_a_turn():
    d = Driver()
    d.speak("Um.", 400)
    d.pause(2000)
    assert "commit" not in d.kinds()
    d.pause(2000)
    assert d.kinds()[-1] == "discard"
    d.feed(0.9, 32)  # one frame of noise: below the onset debounce
    d.pause(1000)
    assert d.kinds().count("speech_start") == 1


def test_saying_im_done_ends_the_turn_at_once_even_mid_grace():
    d = Driver()
    d.speak("I would look at the funnel, and that's my answer.", 3000)
    events = d.pause(250)
    assert d.kinds(events)[-1] == "commit"


def test_the_done_button_ends_the_turn_now():
    d = Driver()
    d.speak("I would start by looking at the", 2000)
    d.pause(1000)
    events = d.taker.done()
    assert [e.kind for e in events] == ["commit"]


def test_speech_over_the_interviewer_pauses_it_then_cuts_it():
    d = Driver()
    d.taker.interviewer(True)
    events = d.speak("Sorry, can I add one thing about the data?", 100)
    assert d.kinds(events) == ["pause_playback", "speech_start"]
    assert events[0].frame == 1, "the first speech frame pauses the interviewer"
    events = d.feed(0.9, 700)
    assert "cut_playback" in d.kinds(events)


def test_a_click_over_the_interviewer_pauses_it_for_one_frame_only():
    d = Driver()
    d.taker.interviewer(True)
    d.feed(0.9, 32)
    d.pause(100)
    assert d.kinds() == ["pause_playback", "resume_playback"]


def test_a_backchannel_over_the_interviewer_resumes_it():
    d = Driver()
    d.taker.interviewer(True)
    d.speak("Mm-hmm.", 350)
    events = d.pause(300)
    assert d.kinds(events)[-2:] == ["resume_playback", "discard"]
    assert "cut_playback" not in d.kinds()


def test_going_on_right_after_the_turn_ended_takes_it_back():
    d = Driver(TurnConfig(resume_window_ms=2500))
    d.speak("First I would check the data.", 2000)
    d.pause(600)
    assert d.kinds()[-1] == "commit"
    d.words = ""
    d.taker.interviewer(True)  # the reply has begun
    d.pause(400)
    events = d.speak("And then I would retrain the model with the new features.", 800)
    assert d.kinds(events)[:2] == ["pause_playback", "speech_start"]
    assert "cut_playback" in d.kinds(events) and "retract" in d.kinds(events)


def test_a_backchannel_after_the_turn_ended_does_not_take_it_back():
    d = Driver(TurnConfig(resume_window_ms=2500))
    d.speak("First I would check the data.", 2000)
    d.pause(600)
    d.words = ""
    d.speak("Yeah.", 300)
    d.pause(400)
    assert "retract" not in d.kinds()


def test_after_the_window_speech_is_a_new_turn():
    d = Driver(TurnConfig(resume_window_ms=1000))
    d.speak("First I would check the data.", 2000)
    d.pause(2000)
    d.words = ""
    d.speak("Another thing: the learning rate is too high for this model.", 1000)
    assert "retract" not in d.kinds()


def test_a_long_answer_is_interjected_at_the_next_short_pause():
    d = Driver(TurnConfig(interject_after_s=5, interject_pause_ms=250))
    d.speak("Let me walk you through every single detail of the project from the start.", 6000)
    events = d.pause(300)
    assert d.kinds(events)[-1] == "commit" and events[-1].interjected
