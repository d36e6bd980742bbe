"""The risk model at run time: P(this session is doing something unsafe | its events so far).

The fitted model (``blackbox train``, ``analyzer/training.py``) is a scikit-learn pipeline —
bounded signals and hashed words into a logistic regression — calibrated with Platt's sigmoid.
Both stages are linear in the features up to the final logistic function, so the whole model is

    P = 1 / (1 + exp(slope * (w . x + b) + offset))

``RiskModel`` keeps exactly that: ``w`` split into the signal weights and the word weights (a
plain list, indexed per bucket), the intercept ``b`` and the calibration's
``slope``/``offset``. Calling scikit-learn per event would cost ~0.3 ms of fixed
overhead; this costs a few microseconds, and the word part of ``w . x`` is kept incrementally by
``features.TextBag``. ``tests/test_risk.py`` checks it equals ``predict_proba`` to 1e-9.

The artifact is read with ``skops.io.load`` and an explicit list of trusted types (never
``trusted=True``): anything else in the file refuses to load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from analyzer.features import TEXT_DIM, TextBag, signal_names
from ingest.errors import ConfigError

ARTIFACT = "risk_model.skops"
METADATA = "risk_model.json"
# Every type the fitted pipeline is made of that skops does not trust by default. Training refuses
# to write a model holding anything else; loading passes exactly this list.
TRUSTED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


class ModelError(ConfigError):
    """The shipped model is missing, unsafe to load, or does not match this code's features."""


@dataclass(frozen=True, eq=False, slots=True)
class RiskModel:
    signal_names: tuple[str, ...]
    signal_weights: tuple[float, ...]  # per signal
    text_weights: list[float]  # per word bucket (TEXT_DIM)
    intercept: float
    slope: float  # Platt calibration: P = expit(-(slope * score + offset))
    offset: float
    threshold: float = 0.5

    def text_bag(self) -> TextBag:
        return TextBag(self.text_weights)

    def score(self, signals: Sequence[float], text_dot: float) -> float:
        """The logistic regression's decision value w . x + b."""
        return self.intercept + text_dot + math.fsum(map(float.__mul__, self.signal_weights, signals))

    def probability(self, signals: Sequence[float], text_dot: float) -> float:
        return _expit(-(self.slope * self.score(signals, text_dot) + self.offset))

    @classmethod
    def neutral(cls) -> RiskModel:
        """All weights zero: what feature extraction runs with before any model exists."""
        names = signal_names()
        return cls(names, (0.0,) * len(names), [0.0] * TEXT_DIM, 0.0, 1.0, 0.0)

    @classmethod
    def from_estimator(cls, calibrated: Any, *, threshold: float) -> RiskModel:
        """Extract the linear form of a fitted ``CalibratedClassifierCV(ensemble=False)``."""
        [pair] = calibrated.calibrated_classifiers_
        [calibrator] = pair.calibrators
        classifier = pair.estimator.named_steps["classifier"]
        coef = classifier.coef_[0]
        names = signal_names()
        # A list, not an array: indexing it hands out the stored floats instead of boxing new ones.
        return cls(names, tuple(float(w) for w in coef[: len(names)]), coef[len(names):].tolist(),
                   float(classifier.intercept_[0]), float(calibrator.a_), float(calibrator.b_), threshold)


def _expit(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def data_dir() -> Path:
    return Path(str(resources.files("analyzer") / "data"))


def read_metadata(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or data_dir()) / METADATA
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"no risk model at {path}: run `blackbox train`") from None
    return found


def load_estimator(path: Path) -> Any:
    """The fitted pipeline, loaded by skops with the explicit trusted-type list."""
    import skops.io as sio

    untrusted = set(sio.get_untrusted_types(file=path))
    if not untrusted <= set(TRUSTED_TYPES):
        outside = sorted(untrusted - set(TRUSTED_TYPES))
        raise ModelError(f"{path} holds types outside the allowlist: {outside}")
    return sio.load(path, trusted=list(TRUSTED_TYPES))


def load(directory: Path | None = None) -> RiskModel:
    directory = directory or data_dir()
    metadata = read_metadata(directory)
    if tuple(metadata["signals"]) != signal_names() or metadata["text_dim"] != TEXT_DIM:
        raise ModelError("the risk model was trained on other features: run `blackbox train`")
    return RiskModel.from_estimator(load_estimator(directory / ARTIFACT),
                                    threshold=float(metadata["threshold"]))


@lru_cache(maxsize=1)
def default_model() -> RiskModel:
    """The model shipped in ``analyzer/data``, loaded once per process."""
    return load()


def configured_threshold(model: RiskModel) -> float:
    """``BLACKBOX_RISK_THRESHOLD`` when set, else the threshold chosen at training time."""
    from ingest.settings import get_settings

    settings = get_settings()
    return settings.risk_threshold if "risk_threshold" in settings.model_fields_set else model.threshold
