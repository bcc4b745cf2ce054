"""Rasa's LogisticRegressionClassifier with the same model, made cheaper to ask (runs in nlu/.venv).

Training is Rasa's own, so the weights (and every held-out figure) are those of the stock component.
Two costs of a parse are removed (measured in nlu/README.md, "Parse latency"):

- scikit-learn scores a message as `X @ coef_.T`; with `coef_` stored row-major (40 intents x ~34,000
  features) the transpose is column-major, and SciPy's sparse-times-dense product copies it into a
  contiguous array first: ~11 MB copied for every message, more than the rest of the parse. Keeping
  `coef_` column-major makes the transpose contiguous, so nothing is copied. Same numbers, same order.
- the stock `_create_X` stacks each message's sparse features with an empty dense matrix, then stacks
  the rows: SciPy's block construction for what is, without dense features, the sparse row itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class PanaLogisticRegressionClassifier(LogisticRegressionClassifier):
    """The stock classifier: same training, same persisted model, a cheaper `process`."""

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PanaLogisticRegressionClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        if hasattr(component.clf, "coef_"):  # an untrained component (no model stored) has none
            component.clf.coef_ = np.asfortranarray(component.clf.coef_)
        return component  # type: ignore[return-value]

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        """The stock matrix (float64 CSR, one row per message) without stacking an empty dense block."""
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            row = csr_matrix(sparse.features if sparse else [], dtype=np.float64)
            if dense is not None:
                row = hstack([row, csr_matrix(dense.features, dtype=np.float64)], format="csr")
            rows.append(row)
        return rows[0] if len(rows) == 1 else vstack(rows, format="csr")
