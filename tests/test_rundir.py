"""rundir.py, the one owner of the run directory: layout, lock, overwrite rules, confinement, sweeping."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fileio
import rundir
from cli import UserError
from helpers import ROOT, cli_env, listing
from rundir import RunDir, RunDirError

CONFIG = {"kind": "trained", "name": "tiny", "model": {"sequence_length": 20, "num_targets": 3}}


def make_run(path, **extra) -> RunDir:
    run = RunDir(path).create({**CONFIG, **extra})
    run.unlock()
    return run


def test_create_writes_the_schema_and_refuses_to_replace_without_overwrite(tmp_path):
    run = make_run(tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["schema"] == rundir.SCHEMA and config["kind"] == "trained"
    assert RunDir.is_run(tmp_path / "run") and not RunDir.is_run(tmp_path)
    with pytest.raises(RunDirError, match="already exists; use --resume"):
        RunDir(run.path).prepare_new(overwrite=False)
    assert listing(tmp_path) == ["run"]


def test_overwrite_replaces_a_run_atomically(tmp_path):
    old = make_run(tmp_path / "run")
    (old.path / "history.csv").write_text("epoch,loss,val_loss,lr\n")
    new = RunDir(tmp_path / "run")
    new.prepare_new(overwrite=True)
    new.create({**CONFIG, "name": "second"})
    new.unlock()
    assert listing(tmp_path / "run") == [".lock", "config.json"]
    assert new.name == "second"
    assert listing(tmp_path) == ["run"]  # no temporary or old directory left


@pytest.mark.parametrize("setup, message", [
    ("plain", "not a run directory"),
    ("data", "holds the data"),
    ("runs", "not a run directory"),
    ("foreign", "holds files that are not part of a run (notes.txt)"),
    ("nested", "holds files that are not part of a run (inner)"),
])
def test_overwrite_replaces_only_a_run_directory(tmp_path, setup, message):
    target = tmp_path / "target"
    protect = []
    if setup == "plain":
        target.mkdir()
        (target / "precious.txt").write_text("x")
    elif setup == "data":
        target.mkdir()
        (target / "train.mat").write_text("x")
        protect = [target]
    elif setup == "runs":  # a folder of runs
        make_run(target / "a")
        make_run(target / "b")
    elif setup == "foreign":
        make_run(target)
        (target / "notes.txt").write_text("mine")
    else:
        make_run(target)
        make_run(target / "inner")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(RunDirError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunDir(target).prepare_new(overwrite=True, protect=protect)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_overwrite_refuses_the_current_directory_and_its_parents(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    monkeypatch.chdir(run.path)
    for target in (".", ".."):
        with pytest.raises(RunDirError, match="current directory"):
            RunDir(target).prepare_new(overwrite=True)
    assert (run.path / "config.json").exists()


def test_a_second_writer_is_refused_and_a_dead_writers_lock_taken_over(tmp_path):
    run = make_run(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from rundir import RunDir
            RunDir({str(run.path)!r}).lock()
            print("locked", flush=True)
            time.sleep(60)
        """)], cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=rf"in use by another process \(pid {holder.pid} on "):
            RunDir(run.path).lock()
    finally:
        holder.kill()  # SIGKILL: the lock file keeps its holder's details, the kernel drops the flock
        holder.wait()
    assert f'"pid": {holder.pid}' in (run.path / ".lock").read_text()
    taken = RunDir(run.path).lock()
    assert json.loads((run.path / ".lock").read_text())["pid"] == os.getpid()
    taken.unlock()
    assert (run.path / ".lock").read_text() == ""


def test_state_paths_are_confined_to_the_checkpoint_folder(tmp_path):
    run = make_run(tmp_path / "run")
    other = make_run(tmp_path / "other")
    (other.path / "best_model.keras").write_text("not mine")
    run.checkpoint_dir.mkdir()
    for name in ("../../other/best_model.keras", "/etc/passwd", "epoch-0001.keras/../x", 7):
        fileio.write_json(run.state_path, {"epoch": 1, "model_file": name})
        with pytest.raises(RunDirError, match="which is not a file of"):
            run.read_state()
    fileio.write_json(run.state_path, {"epoch": 1, "model_file": "epoch-0001.keras"})
    with pytest.raises(RunDirError, match="which is missing"):
        run.read_state()
    (run.checkpoint_dir / "epoch-0001.keras").write_text("x")
    assert run.read_state()["model_file"] == "epoch-0001.keras"


def test_leftovers_of_a_killed_writer_are_swept_when_the_next_writer_starts(tmp_path):
    run = make_run(tmp_path / "run")
    run.checkpoint_dir.mkdir()
    (run.checkpoint_dir / "epoch-0001.keras").write_text("kept")
    (run.checkpoint_dir / "epoch-0002.keras").write_text("orphan: saved, but state.json never named it")
    fileio.write_json(run.state_path, {"epoch": 1, "model_file": "epoch-0001.keras"})
    tmp_files = [fileio.temp_sibling(run.best_model_path), fileio.temp_sibling(run.checkpoint_dir / "x.keras"),
                 fileio.temp_sibling(run.history_path)]
    stale_new = tmp_path / ".run.new-abc123"
    stale_new.mkdir()
    with run.lock():
        assert all(not os.path.exists(t) for t in tmp_files)
        assert listing(run.checkpoint_dir) == ["epoch-0001.keras", "state.json"]
    again = RunDir(run.path)  # creating the run again (--overwrite) sweeps its stale .new- directory
    again.prepare_new(overwrite=True)
    again.create(CONFIG).unlock()
    assert listing(tmp_path) == ["run"]


def test_config_schema_is_checked_and_older_configs_upgraded(tmp_path):
    run = make_run(tmp_path / "run")
    config = json.loads(run.config_path.read_text())
    run.config_path.write_text(json.dumps({**config, "surprise": 1}))
    with pytest.raises(RunDirError, match="unknown key"):
        RunDir.open(run.path)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({
        "preset": "crnn-320", "model": {"family": "crnn", "sequence_length": 1000, "num_targets": 919},
        "training": {"lr": 3e-4}, "params": 2727335, "versions": {"keras": "3"}, "git": {}, "device": {},
        "command": "train.py", "created": "2026", "mixed_precision": False, "args": {}}))
    old = RunDir.open(legacy)
    assert old.kind == "trained" and old.name == "crnn-320" and old.sequence_length == 1000
    assert old.config["provenance"]["command"] == "train.py" and old.config["precision"] == "float32"
    published = tmp_path / "published"
    published.mkdir()
    (published / "config.json").write_text(json.dumps({
        "preset": "published-danq", "published": "danq", "weights": "/w.hdf5", "backward": "reverse",
        "dropout_scaling": True, "sequence_length": 1000, "num_targets": 919, "params": 46926479}))
    pub = RunDir.open(published)
    assert pub.kind == "published" and pub.name == "DanQ (published weights)" and pub.num_targets == 919


def test_open_names_what_is_wrong(tmp_path):
    with pytest.raises(RunDirError, match="no such run directory"):
        RunDir.open(tmp_path / "typo")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="not a directory"):
        RunDir.open(tmp_path / "file")
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir.open(tmp_path)


def test_check_output_path_protects_inputs_runs_and_existing_files(tmp_path):
    run = make_run(tmp_path / "run")
    source = tmp_path / "in.h5"
    source.write_text("data")
    with pytest.raises(UserError, match="is also an input"):
        rundir.check_output_path(source, inputs=[source], force=True)
    for inside in (run.best_model_path, run.metrics_path("test"), run.path / "mine.h5",
                   run.checkpoint_dir / "x.h5"):
        run.checkpoint_dir.mkdir(exist_ok=True)
        with pytest.raises(UserError, match="lies inside the run directory"):
            rundir.check_output_path(inside, force=True)
    with pytest.raises(UserError, match="is a directory"):
        rundir.check_output_path(tmp_path, force=True)
    existing = tmp_path / "out.h5"
    existing.write_text("old")
    with pytest.raises(UserError, match="already exists; pass --force"):
        rundir.check_output_path(existing)
    assert rundir.check_output_path(existing, force=True) == existing
    with pytest.raises(UserError, match="is not a directory"):
        rundir.check_output_path(existing / "out.h5")
    assert rundir.check_output_path(tmp_path / "new" / "out.h5") == tmp_path / "new" / "out.h5"


def test_history_round_trips_exactly(tmp_path):
    run = make_run(tmp_path / "run")
    rows = [{"epoch": 1, "loss": 0.1 + 0.2, "val_loss": 1 / 3, "lr": 3e-4, "seconds": 1.5}]
    run.write_history(rows)
    assert run.history() == rows
    fileio.write_json(tmp_path / "a.json", {"x": float("nan"), "y": [1.5, float("inf")]})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": [1.5, None]}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(fileio.FileReadError, match="cannot read JSON"):
        fileio.read_json(tmp_path / "bad.json")
