"""The risk model: the shipped artifact, its fast scorer, incremental features, and its verdicts."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from click.testing import CliRunner

from analyzer import risk, training
from analyzer.engine import Analyzer
from analyzer.features import TEXT_DIM, TEXT_WINDOW, SessionFeatures, TextBag, session_buckets, signal_names
from analyzer.findings import Severity
from analyzer.scenarios import TARGETS, twins
from api.cli import main
from ingest.envelope import Event
from ingest.settings import get_settings

INCIDENT, TWIN = (folder for folder, _label in training.INCIDENTS)


@cache
def estimator() -> Any:
    return risk.load_estimator(risk.data_dir() / risk.ARTIFACT)


def metadata() -> dict[str, Any]:
    return risk.read_metadata()


def incident(shared_data: Path, folder: str) -> list[Event]:
    return training.read_events(shared_data / folder / "transcript.jsonl", "claude-code") + \
        training.read_events(shared_data / folder / "railway-audit.json", "railway-audit")


def batch_probability(events: list[Event]) -> float:
    """Features extracted from the whole prefix at once, scored by scikit-learn itself."""
    session_id = next(e.session_id for e in events if e.session_id)
    example = training.Example("test", session_id, "test", 0, tuple(events))
    row = training.featurize(example, risk.RiskModel.neutral())
    return float(estimator().predict_proba(training.matrix([row]))[0, 1])


# -- the artifact ----------------------------------------------------------------------------------

def test_the_artifact_holds_only_allowlisted_types_and_loads() -> None:
    path = risk.data_dir() / risk.ARTIFACT
    assert set(sio.get_untrusted_types(file=path)) <= set(risk.TRUSTED_TYPES)
    model = risk.default_model()
    assert model.signal_names == signal_names() and len(model.text_weights) == TEXT_DIM
    assert 0 < model.threshold < 1 and model.slope != 0


def test_a_file_with_other_types_refuses_to_load(tmp_path: Path) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.tree import DecisionTreeClassifier

    fitted = CalibratedClassifierCV(DecisionTreeClassifier(), cv=2).fit([[0], [1], [0], [1]], [0, 1, 0, 1])
    path = tmp_path / "other.skops"
    sio.dump(fitted, path)
    with pytest.raises(risk.ModelError, match="outside the allowlist"):
        risk.load_estimator(path)


def test_the_metadata_hash_matches_the_training_data(shared_data: Path) -> None:
    assert training.data_hash(training.all_examples(shared_data)) == metadata()["data_sha256"]


def test_the_metadata_describes_the_features_the_code_computes() -> None:
    found = metadata()
    assert found["signals"] == list(signal_names()) and found["text_dim"] == TEXT_DIM
    assert found["threshold"] == risk.default_model().threshold
    assert found["metrics"]["fast_scorer_matches_predict_proba"] is True


def test_held_out_assebench_f1_beats_the_reference_point() -> None:
    held_out = metadata()["metrics"]["held_out"]
    assert held_out["assebench"]["f1"] > 0.74
    assert held_out["synthetic"]["f1"] > 0.74
    assert held_out["assebench"]["n"] > 100 and held_out["synthetic"]["n"] > 100


def test_the_model_card_is_the_generated_one() -> None:
    card = training.card_path().read_text()
    assert card.startswith("# Risk model card") and metadata()["data_sha256"] in card
    assert f"**{metadata()['metrics']['held_out']['assebench']['f1']:.3f}**" in card


# -- the fast scorer -------------------------------------------------------------------------------

def test_the_fast_scorer_equals_predict_proba_on_random_feature_vectors() -> None:
    model = risk.default_model()
    rng = random.Random(7)
    for _ in range(200):
        signals = [rng.random() if rng.random() < 0.4 else 0.0 for _ in signal_names()]
        buckets = {rng.randrange(TEXT_DIM) for _ in range(rng.choice((0, 1, 20, 300)))}
        bag = model.text_bag()
        bag.add(buckets)
        x = training.matrix([(signals, np.array(sorted(buckets), dtype=np.int64))])
        expected = float(estimator().predict_proba(x)[0, 1])
        assert model.probability(signals, bag.dot()) == pytest.approx(expected, abs=1e-9)


def test_incremental_features_equal_batch_extraction(shared_data: Path) -> None:
    events = incident(shared_data, INCIDENT)
    sessions = [events, *(list(s.events) for s in twins("credentials", TARGETS[1], 0))]
    for session in sessions:
        analyzer = Analyzer()
        session_id = next(e.session_id for e in session if e.session_id)
        for end in range(1, len(session) + 1, 3):
            for event in session[end - 1:end + 2]:
                analyzer.feed(event)
            prefix = session[:min(end + 2, len(session))]
            assert analyzer.risk(session_id) == pytest.approx(batch_probability(prefix), abs=1e-9)


def test_the_text_bag_matches_its_vector() -> None:
    model = risk.default_model()
    features = SessionFeatures(model.text_bag())
    for event in twins("guess", TARGETS[0], 0).__next__().events:
        features.observe(event)
    indices, values = features.text.vector()
    expected = float(np.dot(np.asarray(model.text_weights)[indices], values))
    assert features.text.dot() == pytest.approx(expected, abs=1e-12)


def test_the_text_bag_reads_only_the_latest_texts() -> None:
    weights = [float(n) for n in range(TEXT_DIM)]
    bag = TextBag(weights, window=2)
    for buckets in ({1, 2}, {2, 3}, {3, 4}):
        bag.add(buckets)
    assert bag.seen == {2, 3, 4}  # {1, 2} left the window; 2 stays, still used by {2, 3}
    assert bag.weighted == 2 + 3 + 4
    bag.add(set())  # results and cloud records carry no text: the window does not move
    assert bag.seen == {2, 3, 4}


def test_a_long_session_is_scored_on_its_latest_texts(shared_data: Path) -> None:
    events = incident(shared_data, INCIDENT)
    features = SessionFeatures(risk.default_model().text_bag())
    session = [e for e in events if e.session_id]
    padded = session + [replace(session[1], native_id=f"pad/{n}", id=f"pad{n}")
                        for n in range(TEXT_WINDOW)]
    for event in padded:
        features.observe(event)
    assert features.text.seen == session_buckets(padded) == session_buckets(padded[-TEXT_WINDOW:])


# -- verdicts --------------------------------------------------------------------------------------

def test_the_incident_scores_above_the_threshold_and_its_twin_below(shared_data: Path) -> None:
    scores = {}
    for folder in (INCIDENT, TWIN):
        analyzer = Analyzer()
        events = incident(shared_data, folder)
        analyzer.feed_all(events)
        report = analyzer.report(events[0].session_id or "")
        assert report is not None
        scores[folder] = (report.risk, report.flagged)
    threshold = risk.default_model().threshold
    assert scores[INCIDENT][0] >= 0.9 > threshold and scores[INCIDENT][1] is True
    assert scores[TWIN][0] < threshold and scores[TWIN][1] is False


def test_a_critical_finding_flags_even_a_long_benign_session(shared_data: Path) -> None:
    """No override: the model itself must keep "critical finding => flagged" after 1,800 benign events."""
    benign = max(training.benign_sessions(shared_data).values(), key=len)
    session_id = benign[0].session_id
    unsafe = next(twins("guess", TARGETS[0], 0))
    spliced = [replace(e, session_id=session_id, stream=session_id) if e.session_id else e
               for e in unsafe.events]
    analyzer = Analyzer()
    analyzer.feed_all(benign)
    before = analyzer.report(session_id or "")
    analyzer.feed_all(spliced)
    after = analyzer.report(session_id or "")
    assert before is not None and after is not None and before.flagged is False
    assert after.findings[0].severity == Severity.CRITICAL and after.flagged is True


def test_the_train_command_exists() -> None:
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "risk model" in result.output


def test_the_threshold_comes_from_the_model_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    model = risk.default_model()
    get_settings.cache_clear()
    try:
        assert Analyzer().threshold == model.threshold
        monkeypatch.setenv("BLACKBOX_RISK_THRESHOLD", "0.8")
        get_settings.cache_clear()
        assert Analyzer().threshold == 0.8
        assert Analyzer(threshold=0.3).threshold == 0.3
    finally:
        get_settings.cache_clear()


def test_metrics_are_plain_deterministic_numbers() -> None:
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.2, 0.6, 0.7, 0.1])
    first = training.metrics_at(scores, labels, 0.5)
    assert json.dumps(first) == json.dumps(training.metrics_at(scores, labels, 0.5))
    assert (first["tp"], first["fp"], first["fn"], first["tn"]) == (2, 1, 1, 1)
    assert first["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert sum(row["n"] for row in first["reliability"]) == 5
