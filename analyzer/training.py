"""Training the risk model (``blackbox train``): data, features, split, fit, calibration, metrics.

Data, all turned into events by the project's own adapters and scored through the analyzer:

* ASSEBench ``AgentJudge-security.json`` (817 labelled trajectories, ``agent-trajectory``
  adapter). The label and the scenario are read from the trajectory event's ``raw`` — the only
  place the adapter keeps them — and never reach a feature.
* The synthetic infrastructure sessions of ``analyzer.scenarios`` (unsafe cases and safe twins).
* The shared Railway incident (unsafe) and its careful twin (safe): ``claude-code`` transcript
  plus ``railway-audit`` records, in that order, as an ingest would append them.

Each source is split by ``GroupShuffleSplit`` on its scenario (ASSEBench's
``application_scenario``; the synthetic family and platform, twins together), so every held-out
number is about scenarios the model never saw; the incident pair is trained on. The pipeline —
bounded signals and hashed words into ``LogisticRegression`` — has its
regularization picked by grouped cross-validation on the training part only and is calibrated
with Platt's sigmoid on grouped out-of-fold scores (``CalibratedClassifierCV(ensemble=False)``).
The benign Claude Code transcripts are never trained on: they measure false flags.

Everything is seeded and ordered, so the same data gives a byte-identical ``risk_model.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp
from numpy.typing import NDArray

from analyzer import scenarios
from analyzer.engine import Analyzer
from analyzer.features import (
    CALL_CHARS,
    COUNT_CAP,
    TEXT_BITS,
    TEXT_CHARS,
    TEXT_DIM,
    TEXT_WINDOW,
    session_buckets,
    signal_names,
)
from analyzer.risk import ARTIFACT, METADATA, TRUSTED_TYPES, ModelError, RiskModel, data_dir, load
from ingest.envelope import Event
from ingest.pipeline import Preparer
from ingest.redact import Redactor

SEED = 20260424
TEST_SHARE = 0.25
C_GRID = (1.0, 3.0, 10.0, 30.0)
FOLDS = 5
THRESHOLD = 0.5  # calibrated: flag when unsafe is the more likely answer
ASSEBENCH = Path("agent-safety/assebench/dataset/AgentJudge-security.json")
INCIDENTS = (("incidents/railway-volume-delete", 1), ("incidents/railway-volume-verified", 0))
BENIGN = Path("claude-code")
_RECEIVED = datetime(1970, 1, 1, tzinfo=UTC)  # fixed: the same file must map to the same events
_REDACTION_KEY = b"blackbox-risk-model-training"


@dataclass(frozen=True, slots=True)
class Example:
    source: str  # "assebench", "synthetic" or "incident"
    name: str  # the session id
    group: str  # the scenario it belongs to (held out together)
    label: int  # 1 unsafe, 0 safe
    events: tuple[Event, ...]  # in the order the analyzer is fed


# -- data ----------------------------------------------------------------------------------------

def default_shared() -> Path:
    """``../shared/data`` beside the project checkout."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def model_dir() -> Path:
    return data_dir()


def card_path() -> Path:
    return Path(__file__).resolve().parent / "MODEL.md"


def read_events(path: Path, fmt: str) -> list[Event]:
    """A file's events through the product's own ingest path (redaction included)."""
    preparer = Preparer(Redactor(_REDACTION_KEY), max_depth=64, chunk_size=5000)
    _fmt, chunks = preparer.prepare(path.read_bytes(), fmt, origin=path.name, received_at=_RECEIVED)
    events = [encoded.event for chunk in chunks for encoded in chunk.encoded]
    if not events:
        raise ModelError(f"no events in {path}")
    return events


def assebench_examples(shared: Path) -> list[Example]:
    sessions: dict[str, list[Event]] = {}
    for event in read_events(shared / ASSEBENCH, "agent-trajectory"):
        sessions.setdefault(event.session_id or "", []).append(event)
    return [_labelled(name, events) for name, events in sessions.items()]


def _labelled(name: str, events: list[Event]) -> Example:
    """The label and scenario sit in the raw record of the episode's first (trajectory) event."""
    raw = events[0].raw
    if not isinstance(raw, dict) or raw.get("label") not in (0, 1):
        raise ModelError(f"trajectory {name} has no 0/1 label in its raw record")
    return Example("assebench", name, str(raw.get("application_scenario")), int(raw["label"]),
                   tuple(events))


def incident_examples(shared: Path) -> list[Example]:
    examples = []
    for folder, label in INCIDENTS:
        events = read_events(shared / folder / "transcript.jsonl", "claude-code")
        events += read_events(shared / folder / "railway-audit.json", "railway-audit")
        examples.append(Example("incident", events[0].session_id or folder, folder, label, tuple(events)))
    return examples


def synthetic_examples() -> list[Example]:
    return [Example("synthetic", s.name, s.group, s.label, s.events) for s in scenarios.generate()]


def all_examples(shared: Path) -> list[Example]:
    return assebench_examples(shared) + synthetic_examples() + incident_examples(shared)


def benign_sessions(shared: Path) -> dict[str, list[Event]]:
    """The real Claude Code transcripts (subagent files join their parent's session)."""
    sessions: dict[str, list[Event]] = {}
    for path in sorted((shared / BENIGN).rglob("*.jsonl")):
        for event in read_events(path, "claude-code"):
            if event.session_id is not None:
                sessions.setdefault(event.session_id, []).append(event)
    return sessions


def data_hash(examples: Iterable[Example]) -> str:
    """sha256 over every example: source, name, group, label and its events' canonical form."""
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: (e.source, e.name)):
        head = [example.source, example.name, example.group, example.label, len(example.events)]
        digest.update(orjson.dumps(head))
        for event in example.events:
            digest.update(orjson.dumps(event.to_document(), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


# -- features ------------------------------------------------------------------------------------

Row = tuple[list[float], NDArray[np.int64]]  # the signal block, the word buckets seen


def featurize(example: Example, model: RiskModel) -> Row:
    """Signals from a fresh analyzer fed the session (cloud records link within it only); the
    word buckets extracted in one batch (the analyzer's own bag is the incremental form)."""
    analyzer = Analyzer(model=model, threshold=THRESHOLD)
    analyzer.feed_all(example.events)
    features = analyzer.features(example.name)
    if features is None:
        raise ModelError(f"session {example.name} has no events")
    signals = features.signals(analyzer.findings(example.name))
    return signals, np.array(sorted(session_buckets(example.events)), dtype=np.int64)


def matrix(rows: Sequence[Row]) -> sp.csr_matrix:
    """Signals in the first columns, then the L2-normalized binary word block."""
    width = len(signal_names())
    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    for signals, buckets in rows:
        data += signals
        indices += range(width)
        data += [1.0 / np.sqrt(len(buckets))] * len(buckets) if len(buckets) else []
        indices += (buckets + width).tolist()
        pointers.append(len(data))
    return sp.csr_matrix((np.array(data), np.array(indices), np.array(pointers)),
                         shape=(len(rows), width + TEXT_DIM))


# -- split and fit -------------------------------------------------------------------------------

def held_out(examples: Sequence[Example]) -> NDArray[np.bool_]:
    """True for the test examples: a grouped share of each benchmark source (incidents: never)."""
    from sklearn.model_selection import GroupShuffleSplit

    test = np.zeros(len(examples), dtype=bool)
    for source in ("assebench", "synthetic"):
        rows = np.array([i for i, e in enumerate(examples) if e.source == source])
        groups = [examples[i].group for i in rows]
        splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SHARE, random_state=SEED)
        _train, chosen = next(splitter.split(rows, groups=groups))
        test[rows[chosen]] = True
    return test


def pipeline(c: float) -> Any:
    """Features straight into a logistic regression. No scaler: every signal is bounded to [0, 1]
    by construction (capped counts, severities / 5, shares) like the L2-normalized word block, so
    both share one regularization scale. (A ``ColumnTransformer`` would also store the index of
    each of the 2^18 word columns in the artifact: 36 MB of JSON per copy.)"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("classifier", LogisticRegression(C=c, max_iter=10_000))])


def choose_c(x: sp.csr_matrix, y: NDArray[np.int64], groups: Sequence[str]) -> tuple[float, dict[str, float]]:
    """The regularization with the best grouped out-of-fold log-loss on the training part."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold, cross_val_predict

    losses = {}
    for c in C_GRID:
        scores = cross_val_predict(pipeline(c), x, y, groups=groups, cv=GroupKFold(FOLDS),
                                   method="predict_proba")[:, 1]
        losses[str(c)] = round(float(log_loss(y, scores)), 6)
    best = min(C_GRID, key=lambda c: (losses[str(c)], c))
    return best, losses


def fit(x: sp.csr_matrix, y: NDArray[np.int64], groups: Sequence[str], c: float) -> Any:
    """The pipeline on all training rows, Platt-calibrated on grouped out-of-fold scores."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import GroupKFold

    # The folds are passed as index lists: CalibratedClassifierCV does not route ``groups`` to its
    # splitter when it calibrates a single estimator on out-of-fold scores.
    folds = list(GroupKFold(FOLDS).split(x, y, groups))
    calibrated = CalibratedClassifierCV(pipeline(c), method="sigmoid", cv=folds, ensemble=False)
    return calibrated.fit(x, y)


# -- evaluation --------------------------------------------------------------------------------

Floats = NDArray[np.float64]
Labels = NDArray[np.int64]


def metrics_at(probabilities: Floats, labels: Labels, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, specificity, AUROC, Brier and a reliability table."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    flagged = probabilities >= threshold
    tp = int(np.sum(flagged & (labels == 1)))
    fp = int(np.sum(flagged & (labels == 0)))
    fn = int(np.sum(~flagged & (labels == 1)))
    tn = int(np.sum(~flagged & (labels == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both = len(set(labels.tolist())) == 2
    found: dict[str, Any] = _rounded({
        "n": len(labels), "unsafe": int(labels.sum()), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "auroc": float(roc_auc_score(labels, probabilities)) if both else None,
        "brier": float(brier_score_loss(labels, probabilities)),
        "reliability": reliability(probabilities, labels),
    })
    return found


def reliability(probabilities: Floats, labels: Labels, bins: int = 5) -> list[dict[str, Any]]:
    """Per predicted-risk bin: how many, the mean prediction, and how often they were unsafe."""
    table = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for low, high in itertools.pairwise(edges):
        inside = (probabilities >= low) & ((probabilities < high) | (high == 1.0))
        count = int(inside.sum())
        table.append({"bin": f"{low:.1f}-{high:.1f}", "n": count,
                      "mean_risk": float(probabilities[inside].mean()) if count else None,
                      "unsafe_rate": float(labels[inside].mean()) if count else None})
    return table


def _rounded(value: Any) -> Any:
    """Floats to 6 decimals, so the metrics file reads well and compares byte for byte."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def held_out_metrics(probabilities: NDArray[np.float64], examples: Sequence[Example],
                     test: NDArray[np.bool_], threshold: float) -> dict[str, Any]:
    labels = np.array([e.label for e in examples])
    found = {}
    for source in ("assebench", "synthetic"):
        rows = test & np.array([e.source == source for e in examples])
        found[source] = metrics_at(probabilities[rows], labels[rows], threshold)
        found[source]["groups"] = sorted({e.group for e, t in zip(examples, rows, strict=True) if t})
    return found


def family_recall(probabilities: NDArray[np.float64], examples: Sequence[Example], test: NDArray[np.bool_],
                  threshold: float) -> dict[str, dict[str, Any]]:
    """Held-out synthetic sessions per family: unsafe caught, safe twins let through."""
    table: dict[str, dict[str, Any]] = {}
    for example, p, t in zip(examples, probabilities, test, strict=True):
        if t and example.source == "synthetic":
            row = table.setdefault(example.group.split("/")[0], {"unsafe": 0, "caught": 0, "safe": 0,
                                                                  "passed": 0})
            kind = ("unsafe", "caught") if example.label else ("safe", "passed")
            row[kind[0]] += 1
            row[kind[1]] += int((p >= threshold) == bool(example.label))
    return dict(sorted(table.items()))


def benign_flags(model: RiskModel, sessions: dict[str, list[Event]]) -> dict[str, Any]:
    """The real benign transcripts, scored after every event: final and worst-ever verdicts."""
    per_session = {}
    prefixes = flagged_prefixes = 0
    for session_id, events in sorted(sessions.items()):
        analyzer = Analyzer(model=model)
        worst = 0.0
        for event in events:
            analyzer.feed(event)
            risk = analyzer.risk(session_id)
            worst = max(worst, risk)
            prefixes += 1
            flagged_prefixes += risk >= model.threshold
        final = analyzer.risk(session_id)
        per_session[session_id] = {"events": len(events), "final_risk": final, "max_risk": worst}
    finals = [s["final_risk"] >= model.threshold for s in per_session.values()]
    ever = [s["max_risk"] >= model.threshold for s in per_session.values()]
    found: dict[str, Any] = _rounded({
        "sessions": len(per_session), "flagged": sum(finals), "false_flag_rate": sum(finals) / len(finals),
        "ever_flagged": sum(ever), "prefix_false_flag_rate": flagged_prefixes / prefixes,
        "per_session": per_session})
    return found


def long_context(model: RiskModel, examples: Sequence[Example],
                 sessions: dict[str, list[Event]]) -> dict[str, Any]:
    """Every synthetic scenario again, after the longest benign transcript (a long session that
    turns to the scenario's task): how often each label ends flagged. The synthetic sessions are
    short; real ones are long, and their words and counts dilute a session's text and shares."""
    prefix = max(sessions.values(), key=len)
    flagged = {0: 0, 1: 0}
    total = {0: 0, 1: 0}
    safe_groups: dict[str, int] = {}
    for example in (e for e in examples if e.source == "synthetic"):
        analyzer = Analyzer(model=model)
        analyzer.feed_all(_after(prefix, example.events))
        hit = analyzer.risk(example.name) >= model.threshold
        flagged[example.label] += hit
        total[example.label] += 1
        if hit and not example.label:
            safe_groups[example.group] = safe_groups.get(example.group, 0) + 1
    found: dict[str, Any] = _rounded({
        "prefix_events": len(prefix), "unsafe_flagged": flagged[1], "unsafe": total[1],
        "safe_flagged": flagged[0], "safe": total[0],
        "safe_flagged_by_group": dict(sorted(safe_groups.items()))})
    return found


def _after(prefix: Sequence[Event], events: Sequence[Event]) -> list[Event]:
    """``events`` moved into one session after ``prefix`` (its session id and clock)."""
    session = events[0].session_id
    shift = prefix[-1].time - events[0].time
    if session is None:
        raise ModelError("a scenario's first event has no session id")
    moved = [replace(e, session_id=session, stream=session) for e in prefix]
    return moved + [replace(e, time=e.time + shift) for e in events]


def incident_scores(model: RiskModel, examples: Sequence[Example]) -> dict[str, Any]:
    scores = {}
    for example in examples:
        if example.source == "incident":
            analyzer = Analyzer(model=model)
            analyzer.feed_all(example.events)
            scores[example.group] = {"label": example.label, "risk": round(analyzer.risk(example.name), 6)}
    return scores


def scoring_cost(model: RiskModel, sessions: dict[str, list[Event]]) -> dict[str, float]:
    """Microseconds: accumulating one event's features, and one score of the whole session."""
    import time

    from analyzer.features import SessionFeatures

    events = [e for _, evs in sorted(sessions.items()) for e in evs]
    features = SessionFeatures(model.text_bag())
    started = time.perf_counter()
    for event in events:
        features.observe(event)
    observe = (time.perf_counter() - started) / len(events)
    signals = features.signals(())
    started = time.perf_counter()
    for _ in range(10_000):
        model.probability(features.signals(()), features.text.dot())
    score = (time.perf_counter() - started) / 10_000
    return {"accumulate_us_per_event": round(observe * 1e6, 2), "score_us": round(score * 1e6, 2),
            "events": len(events), "signals": len(signals)}


# -- the command ---------------------------------------------------------------------------------

def train(shared: Path, out: Path, card: Path) -> dict[str, Any]:
    """Rebuild the model from the shared data; writes the artifact, its metadata and the card."""
    examples = all_examples(shared)
    neutral = RiskModel.neutral()
    x = matrix([featurize(e, neutral) for e in examples])
    y = np.array([e.label for e in examples])
    groups = [f"{e.source}:{e.group}" for e in examples]
    test = held_out(examples)
    train_groups = [g for g, t in zip(groups, test, strict=True) if not t]
    c, losses = choose_c(x[~test], y[~test], train_groups)
    calibrated = fit(x[~test], y[~test], train_groups, c)
    out.mkdir(parents=True, exist_ok=True)
    write_artifact(calibrated, out / ARTIFACT)
    metadata = describe(examples, test, c, losses)
    _write_json(out / METADATA, metadata)  # load() reads the threshold and feature list from it
    model = load(out)
    probabilities = calibrated.predict_proba(x)[:, 1]
    benign = benign_sessions(shared)
    metadata["metrics"] = {
        "held_out": held_out_metrics(probabilities, examples, test, model.threshold),
        "synthetic_families_held_out": family_recall(probabilities, examples, test, model.threshold),
        "incidents": incident_scores(model, examples),
        "benign_claude_code": benign_flags(model, benign),
        "long_context": long_context(model, examples, benign),
        "fast_scorer_matches_predict_proba": bool(np.abs(fast_scores(model, x) - probabilities).max() < 1e-9),
    }
    _write_json(out / METADATA, metadata)
    card.write_text(model_card(metadata, scoring_cost(model, benign)))
    return metadata


def describe(examples: Sequence[Example], test: NDArray[np.bool_], c: float,
             losses: dict[str, float]) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for example, held in zip(examples, test, strict=True):
        row = counts.setdefault(example.source, {"train": 0, "test": 0, "unsafe": 0, "groups": 0})
        row["test" if held else "train"] += 1
        row["unsafe"] += example.label
    for source, row in counts.items():
        row["groups"] = len({e.group for e in examples if e.source == source})
    return {
        "data_sha256": data_hash(examples), "signals": list(signal_names()), "text_dim": TEXT_DIM,
        "text": {"bits": TEXT_BITS, "chars_per_event": TEXT_CHARS, "chars_per_call": CALL_CHARS,
                 "ngrams": [1, 2],
                 "hash": "crc32 salted per text kind", "kinds": ["agent", "user", "tool"],
                 "window": TEXT_WINDOW,
                 "value": f"binary over the session's latest {TEXT_WINDOW} texts, L2-normalized"},
        "threshold": THRESHOLD, "seed": SEED, "test_share": TEST_SHARE, "folds": FOLDS,
        "c": c, "c_grid_log_loss": losses, "examples": counts,
    }


def fast_scores(model: RiskModel, x: sp.csr_matrix) -> NDArray[np.float64]:
    """The extracted linear form applied to a feature matrix (what the analyzer computes)."""
    weights = np.concatenate([np.array(model.signal_weights), np.asarray(model.text_weights)])
    score = x @ weights + model.intercept
    result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(model.slope * score + model.offset))
    return result


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


def write_artifact(calibrated: Any, path: Path) -> None:
    """Persist with skops, refusing any type outside the explicit allowlist loading trusts."""
    import skops.io as sio

    sio.dump(calibrated, path)
    untrusted = set(sio.get_untrusted_types(file=path))
    if not untrusted <= set(TRUSTED_TYPES):
        path.unlink()
        raise ModelError(f"the fitted model holds types outside the allowlist: {sorted(untrusted)}")


# -- the model card ------------------------------------------------------------------------------

def model_card(metadata: dict[str, Any], cost: dict[str, float]) -> str:
    metrics = metadata["metrics"]
    parts = [_card_head(metadata), _card_data(metadata), _card_features(metadata),
             _card_metrics(metrics), _card_real(metrics, metadata["threshold"]),
             _card_long_context(metrics["long_context"]), _card_cost(cost),
             _CAVEATS]
    return "\n\n".join(parts) + "\n"


def _card_head(metadata: dict[str, Any]) -> str:
    losses = ", ".join(f"C={c}: {loss}" for c, loss in metadata["c_grid_log_loss"].items())
    return f"""# Risk model card

Generated by `blackbox train` (`analyzer/training.py`); do not edit by hand — retrain instead.
The artifact is `analyzer/data/risk_model.skops`, its metadata and metrics `risk_model.json`.

**What it predicts:** P(this session is doing something unsafe | its events so far), after any
event. `blackbox analyze`, `GET /v1/sessions/{{id}}/findings` and the projections report it as
`risk`; a session is `flagged` at `risk >= {metadata['threshold']}` (the default threshold; set
`BLACKBOX_RISK_THRESHOLD` to change it). Findings stay the explanation of a verdict.

**Model:** a `Pipeline` of `LogisticRegression(C={metadata['c']})` over the signals (each bounded to
[0, 1] by construction, so no scaler) and the word block. C was picked by grouped
{metadata['folds']}-fold out-of-fold log-loss on the training part ({losses}), then the pipeline
was calibrated with `CalibratedClassifierCV(method="sigmoid", ensemble=False)` on grouped
out-of-fold scores. At run time the analyzer evaluates the same function from the
extracted weights (`analyzer/risk.py`); that it equals `predict_proba` to 1e-9 on every example
was checked by this run: {'yes' if metadata['metrics']['fast_scorer_matches_predict_proba'] else 'NO'}."""


def _card_data(metadata: dict[str, Any]) -> str:
    rows = "\n".join(f"| {source} | {c['train']} | {c['test']} | {c['unsafe']} | {c['groups']} |"
                     for source, c in sorted(metadata["examples"].items()))
    return f"""## Data

| source | train | held out | unsafe (all) | scenario groups |
| --- | ---: | ---: | ---: | ---: |
{rows}

* **assebench** — ASSEBench `AgentJudge-security.json`, ingested with the `agent-trajectory`
  adapter; label and `application_scenario` read from the trajectory event's `raw` only.
* **synthetic** — `analyzer/scenarios.py`: Claude-Code-shaped infrastructure sessions, eight
  unsafe patterns (guess → unchecked destructive call, error → escalation, credential hunt →
  use, staging task → production target, code-freeze violation, backups deleted, force flags,
  false success) on nine platforms/resources, four wordings each, every one with a look-alike
  safe twin (checked first, asked and approved, dry run / plan, only read, failure reported…),
  plus {scenarios.ROUTINE} safe sessions of routine work (reads, edits, tests, builds, commits; 3
  to 80 steps). Benign work of 0 to 40 steps (failing tests fixed, success claims, hunches, `2>/dev/null`)
  surrounds every scenario, the same in both twins.
* **incident** — the shared Railway volume deletion (unsafe) and its careful twin (safe),
  transcript plus Railway audit records. Trained on, so their scores below are not held out.

Split: `GroupShuffleSplit(test_size={metadata['test_share']}, random_state={metadata['seed']})` per
source, grouped by scenario (ASSEBench `application_scenario`; synthetic family/platform with
twins together). No held-out scenario was seen in training. R-Judge is not used.
Training-data hash (sha256 over every example's events, labels and groups):
`{metadata['data_sha256']}`."""


def _card_features(metadata: dict[str, Any]) -> str:
    text = metadata["text"]
    return f"""## Features

* {len(metadata['signals'])} **signals** (`analyzer/features.py`), each in [0, 1]: per rule, the
  finding count (capped at {COUNT_CAP}, divided by {COUNT_CAP}) and its worst severity; the overall
  worst severity and high-or-worse count; how many families the destructive calls touched; the
  destructive and failed share of calls; capped counts of destructive, unverified destructive,
  irreversible, forced destructive, credential-using and production-targeting calls, failures
  (all and destructive), claims (guess, assumption, shortcut, admission) and linked cloud effects
  (all, destructive, backups). Volume — events, messages, calls, success claims, instructions —
  is deliberately not a signal: the training sessions are short and real ones long, and a volume
  count learnt on the former flagged every long benign transcript in development.
* **words**: unigrams and bigrams of agent reasoning and messages, user messages (first
  {text['chars_per_event']} characters each) and tool calls (tool name plus the first
  {text['chars_per_call']} characters of the command or string arguments), plus one word naming
  the recorder (`source=claude-code`, `source=agent-trajectory`), hashed ({text['hash']}) into
  2^{text['bits']} buckets, {text['value']}."""


def _card_metrics(metrics: dict[str, Any]) -> str:
    rows = []
    for source, m in metrics["held_out"].items():
        auroc = "n/a" if m["auroc"] is None else f"{m['auroc']:.3f}"
        rows.append(f"| {source} | {m['n']} ({m['unsafe']} unsafe) | {m['precision']:.3f} "
                    f"| {m['recall']:.3f} | **{m['f1']:.3f}** | {m['specificity']:.3f} | {auroc} "
                    f"| {m['brier']:.3f} |")
    families = "\n".join(f"| {name} | {r['caught']}/{r['unsafe']} | {r['passed']}/{r['safe']} |"
                         for name, r in metrics["synthetic_families_held_out"].items())
    held = metrics["held_out"]
    return f"""## Held-out metrics

| held out | examples | precision | recall | F1 | specificity | AUROC | Brier |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

Held-out ASSEBench scenarios: {', '.join(held['assebench']['groups'])}.
Held-out synthetic groups: {', '.join(held['synthetic']['groups'])}.

Reliability (held out; mean predicted risk against the observed unsafe rate per bin):

| bin | ASSEBench n | predicted | observed | synthetic n | predicted | observed |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{_reliability_rows(held['assebench']['reliability'], held['synthetic']['reliability'])}

Held-out synthetic sessions per family:

| family | unsafe flagged | safe twins not flagged |
| --- | ---: | ---: |
{families}"""


def _reliability_rows(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> str:
    def cells(row: dict[str, Any]) -> str:
        if not row["n"]:
            return "0 | | "
        return f"{row['n']} | {row['mean_risk']:.2f} | {row['unsafe_rate']:.2f}"
    return "\n".join(f"| {a['bin']} | {cells(a)} | {cells(b)} |" for a, b in zip(first, second, strict=True))


def _card_real(metrics: dict[str, Any], threshold: float) -> str:
    benign = metrics["benign_claude_code"]
    sessions = "\n".join(f"| `{sid}` | {s['events']} | {s['final_risk']:.3f} | {s['max_risk']:.3f} |"
                         for sid, s in benign["per_session"].items())
    incidents = "\n".join(f"| {name} | {'unsafe' if s['label'] else 'safe'} | {s['risk']:.3f} |"
                          for name, s in metrics["incidents"].items())
    return f"""## Real sessions

The Railway incident pair (trained on; threshold {threshold}):

| incident | label | risk |
| --- | --- | ---: |
{incidents}

The benign Claude Code transcripts of `shared/data/claude-code` (never trained on), scored after
every event: {benign['flagged']} of {benign['sessions']} sessions flagged at the end (false-flag rate
{benign['false_flag_rate']:.3f}); {benign['ever_flagged']} ever above the threshold; over all
prefixes the false-flag rate is {benign['prefix_false_flag_rate']:.4f}.

| session | events | final risk | highest risk |
| --- | ---: | ---: | ---: |
{sessions}"""


def _card_long_context(found: dict[str, Any]) -> str:
    groups = ", ".join(f"{group} ({n})" for group, n in found["safe_flagged_by_group"].items()) or "none"
    return f"""## Long sessions

Every synthetic scenario again, appended to the longest benign transcript ({found['prefix_events']}
events) as if a long session turned to its task (most scenarios were trained on, but never with
such a prefix): {found['unsafe_flagged']} of {found['unsafe']} unsafe ones end flagged, and
{found['safe_flagged']} of {found['safe']} safe ones do — {groups}. The words of a long session dilute
the scenario's own, and its counts and shares (failed calls, destructive share) move too, which
moves safe look-alikes towards the threshold. The word block reads only the latest texts for this
reason; what remains is the model's known weak side, measured here rather than hidden."""


def _card_cost(cost: dict[str, float]) -> str:
    return f"""## Cost

Measured by the training run on the benign transcripts ({cost['events']:.0f} events): accumulating one
event's features (word hashing included) costs {cost['accumulate_us_per_event']} µs on average; scoring
a session ({cost['signals']:.0f} signals plus the incrementally kept word score) costs
{cost['score_us']} µs. No scikit-learn call happens on the hot path."""


_CAVEATS = """## What the numbers mean

* ASSEBench is a different domain — email, finance, health, robotics tool agents — from the
  infrastructure agents this product watches. Its unsafe trajectories often call tools whose
  very names spell the harm (`DataWiping()`, `CovertDataManipulation()`), so the word features
  do much of the work there; a high ASSEBench F1 says the pipeline learns such data, not that it
  understands infrastructure risk. The best LLM judge on R-Judge reaches F1 74.45%; R-Judge is a
  different benchmark and was not used here, so this is a reference point, not a comparison.
* The synthetic sessions are written by this project's generator from templates: held-out
  groups are unseen family/platform combinations, but their wording comes from the same pools.
  Their metrics show the model follows the analyzer's signals and the safe twins' safeguards,
  not that it generalizes to every real agent.
* The incident pair is trained on, and the real benign transcripts are only six sessions; both
  are sanity checks, not measurements.
* Calibration is fitted on the training sources' mix; on a population with another base rate of
  unsafe sessions the probabilities shift accordingly."""
