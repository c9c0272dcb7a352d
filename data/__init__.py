"""DeepSEA data layer: .mat readers, the compact store, the tf.data pipeline, the synthetic bundle.

Only this package touches data files; everything downstream sees arrays shaped (N, L, 4) in
A, G, C, T channel order. ``data.pipeline`` (TensorFlow) is imported on its own, not from here.
"""
from data.mat import DataError
from data.store import Store, StoreSplit, open_store, resolve_store

__all__ = ["DataError", "Store", "StoreSplit", "open_store", "resolve_store"]
