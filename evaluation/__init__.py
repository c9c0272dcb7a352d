"""The paper's evaluation, as a library (evaluate.py is its command line).

* :mod:`evaluation.metrics` — PRROC's AUPRC (Davis-Goadrich), sklearn-style AP and AUROC.
* :mod:`evaluation.predict` — the one batched, strand-aware prediction primitive.
* :mod:`evaluation.reports` — summaries, per-target tables, DeepSEA categories, Table 1, and the
  comparison with the published per-target metrics.
* :mod:`evaluation.evaluate` — evaluating runs and published weights into run directories, and
  DeepSEA/DanQ-style prediction files.
"""
