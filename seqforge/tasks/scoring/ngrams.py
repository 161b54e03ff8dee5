"""The text baseline: logistic regression on bags of word and character n-grams.

TF-IDF of word 1–2-grams and character 2–5-grams (within word boundaries), one
multinomial logistic regression over both — the classic strong baseline for topic and
sentiment classification (≈0.75+ on movie reviews, where a majority class scores ≈0.5).
Fitted on the training texts with scikit-learn (the ``digits`` extra); what it learnt is
kept as plain arrays (:meth:`NgramBaseline.state_dict`) so a loaded run directory scores
new texts with it without the training file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WORD = dict(analyzer="word", ngram_range=(1, 2), lowercase=True, min_df=1,
             sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
_CHAR = dict(analyzer="char_wb", ngram_range=(2, 5), lowercase=True, min_df=2,
             sublinear_tf=True)


class NgramBaseline:
    """Word + char n-gram TF-IDF → logistic regression; ``predict(texts)`` → class ids."""

    name = "word+char n-gram logistic regression"

    def __init__(self, state: dict[str, Any] | None = None):
        self.state = state

    @staticmethod
    def available() -> bool:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            return False
        return True

    def fit(self, texts: list[str], y: np.ndarray, *, c: float = 10.0,
            max_features: int = 50_000) -> NgramBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        parts = []
        for cfg in (_WORD, _CHAR):
            vec = TfidfVectorizer(**cfg, max_features=max_features)
            vec.fit(texts)
            parts.append({"vocabulary": {k: int(v) for k, v in vec.vocabulary_.items()},
                          "idf": vec.idf_.astype(np.float32)})
        self.state = {"parts": parts}
        lr = LogisticRegression(C=c, max_iter=2000)
        lr.fit(self._features(texts), np.asarray(y))
        self.state.update(classes=lr.classes_.astype(np.int64), coef=lr.coef_.astype(np.float32),
                          intercept=lr.intercept_.astype(np.float32))
        return self

    def _features(self, texts: list[str]):
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        blocks = []
        for cfg, part in zip((_WORD, _CHAR), self.state["parts"]):
            vec = TfidfVectorizer(**cfg, vocabulary=part["vocabulary"])
            vec.idf_ = np.asarray(part["idf"], dtype=np.float64)
            blocks.append(vec.transform(texts))
        return hstack(blocks).tocsr()

    def predict(self, texts: list[str]) -> np.ndarray:
        s = self.state
        logits = self._features(texts) @ np.asarray(s["coef"]).T + np.asarray(s["intercept"])
        if logits.shape[1] == 1:  # binary: sklearn keeps one column for the second class
            return np.asarray(s["classes"])[(logits[:, 0] > 0).astype(np.int64)]
        return np.asarray(s["classes"])[np.argmax(logits, axis=1)]

    def state_dict(self) -> dict[str, Any] | None:
        return self.state


__all__ = ["NgramBaseline"]
