"""Shared pytest fixtures: small generated DeepSEA-format data, created once per session."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest

import cli

cli.quiet_tensorflow()  # TensorFlow's start-up lines would otherwise land in captured stderr


@pytest.fixture(scope="session")
def synthetic_mat_dir(tmp_path_factory):
    """A tiny synthetic DeepSEA bundle (train.mat v7.3, valid.mat/test.mat v5) + truth JSON."""
    from data import synthetic

    out = tmp_path_factory.mktemp("synthetic")
    synthetic.generate(out, n_train=2000, n_valid=200, n_test=200, seed=0)
    return out
