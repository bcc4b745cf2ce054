"""`pana nlu train` progress: Rasa's output read through a real pipe and turned into a few readable lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bot.nlu.progress import Epochs, ProgressReporter, lines, parse_component, parse_epochs

BAR = "Epochs:  45%|████▌     | 27/60 [01:10<01:25,  2.59s/it, t_loss=1.23, i_acc=0.981]"


def test_a_tqdm_bar_gives_its_epoch_counter_and_time_left() -> None:
    assert parse_epochs(BAR) == Epochs(done=27, total=60, elapsed="01:10", left="01:25")
    assert parse_epochs("2026-11-30 INFO rasa.engine.training - Restored component") is None


def test_a_component_start_is_recognised() -> None:
    line = "2026-11-30 16:47:01 INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'."
    assert parse_component(line) == "DIETClassifier"


def test_the_reporter_says_each_component_and_every_tenth_of_the_epochs() -> None:
    said: list[str] = []
    reporter = ProgressReporter(said.append, step=10, clock=lambda: 0.0)
    reporter.feed("INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'.")
    for done in range(61):
        percent = 100 * done // 60
        reporter.feed(f"Epochs: {percent:3}%|##| {done}/60 [00:{done:02}<00:{60 - done:02}, 1.0it/s]")
    epochs = [s for s in said if "epoch" in s]
    assert said[0].endswith("training DIETClassifier")
    assert len(epochs) == 11  # 0 %, 10 %, ..., 100 %
    assert "epoch 6/60 (10%), about 00:54 left" in epochs[1]


def test_bars_redrawn_with_carriage_returns_arrive_as_separate_lines() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        for n in range(3):
            sys.stderr.write(f"\\rEpochs: {n * 50}%|#| {n}/2 [00:0{n}<00:0{2 - n}]")
            sys.stderr.flush()
        sys.stderr.write("\\ndone\\n")
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    received = list(lines(process.stdout.fileno()))
    process.wait()
    process.stdout.close()
    assert [parse_epochs(line) is not None for line in received] == [True, True, True, False]
    assert received[-1] == "done"


def test_a_silent_classifier_gets_heartbeats_with_the_time_left_by_the_last_training() -> None:
    said: list[str] = []
    now = [0.0]
    reporter = ProgressReporter(said.append, expected=200.0, clock=lambda: now[0])
    now[0] = 50.0
    reporter.feed("INFO rasa.engine.training.hooks - Starting to train component 'LogisticRegressionClassifier'.")
    now[0] = 150.0
    reporter.feed("")  # what `lines` yields after a quiet stretch
    assert "training LogisticRegressionClassifier (~25% by the last training's 200 s, about 150 s left)" in said[0]
    assert "still training LogisticRegressionClassifier (~75%" in said[1]
    assert said[1].endswith("about 50 s left)")


def test_a_quiet_pipe_yields_heartbeats_until_it_speaks() -> None:
    script = "import time, sys; time.sleep(0.5); print('done', flush=True)"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    received = list(lines(process.stdout.fileno(), quiet_after=0.1))
    process.wait()
    process.stdout.close()
    assert received[-1] == "done"
    assert "" in received[:-1]
