"""`pana nlu test --set`: the held-out set by default, a named set in nlu/eval/, or any folder, same report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli.nlu import run_nlu
from bot.errors import NluProjectError
from bot.nlu.server import NluServer
from bot.nlu.testset import HELD_OUT, evaluation_folder, load_test_set
from bot.settings import RasaSettings, load_settings
from tests.conftest import REPO

TINY = REPO / "tests" / "nlu_sets" / "tiny"  # 5 rows, en and ru: written for this test, not from any set


def _test_args(**options: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "nlu_command": "test",
        "set": HELD_OUT,
        "check_floors": False,
        "json": None,
        "no_normalize": False,
        "no_arrival_rule": False,
        "noisy": False,
    }
    return argparse.Namespace(**{**defaults, **options})


@pytest.mark.fast
def test_the_default_set_is_the_held_out_one(tmp_path: Path) -> None:
    assert evaluation_folder(tmp_path) == tmp_path / "tests"
    assert evaluation_folder(tmp_path, HELD_OUT) == tmp_path / "tests"


@pytest.mark.fast
def test_a_name_is_a_set_in_nlu_eval_and_a_path_any_folder(tmp_path: Path) -> None:
    (tmp_path / "eval" / "independent").mkdir(parents=True)
    assert evaluation_folder(tmp_path, "independent") == tmp_path / "eval" / "independent"
    assert evaluation_folder(tmp_path, str(TINY)) == TINY


@pytest.mark.fast
def test_an_unknown_set_names_the_ones_there_are(tmp_path: Path) -> None:
    (tmp_path / "eval" / "independent").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NluProjectError, match="held-out, independent"):
        evaluation_folder(tmp_path, "indepndent")
    with pytest.raises(NluProjectError, match="folder of"):
        evaluation_folder(tmp_path, str(tmp_path / "empty"))


@pytest.mark.fast
def test_floors_are_checked_on_the_held_out_set_only() -> None:
    with pytest.raises(NluProjectError, match="held-out set"):
        run_nlu(_test_args(set=str(TINY), check_floors=True), load_settings())


def test_another_set_gets_the_same_report_on_the_real_server(
    rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings().model_copy(update={"rasa": rasa_settings})
    figures_file = tmp_path / "figures.json"

    assert run_nlu(_test_args(set=str(TINY), json=str(figures_file)), settings) == 0

    report = capsys.readouterr().out
    assert f"Examples in {TINY}: 5" in report
    assert "Held-out examples" not in report
    assert "Per writing style, all languages" in report and "Policy (answer" in report
    figures = json.loads(figures_file.read_text())
    assert {"accuracy_en", "accuracy_ru", "language_id", "oos_recall", "parse_p50_ms"} <= set(figures)
    assert "accuracy_kk" not in figures  # only the languages the set has
    tiny = load_test_set(TINY)
    assert {f"accuracy_style_{e.style}" for e in tiny} <= set(figures)
    assert 0.0 <= figures["accuracy"] <= 1.0
