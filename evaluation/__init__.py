"""Evaluation library (placeholder on the predict branch so ``evaluation.predict`` imports while
evaluation.py is being folded into this package on main; take main's version when merging)."""
