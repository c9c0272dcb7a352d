"""bench/bench_data.py end to end on a tiny generated bundle (the model comparison skipped)."""
import json

from bench import bench_data


def test_bench_data_small_run_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_data.main(["--n-train", "600", "--n-eval", "4", "--batches", "2", "--skip-model",
                            "--workdir", str(tmp_path), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| converter peak RSS |" in table and "limit 1.5 GiB: ok" in table
    results = json.loads(out.read_text())
    assert results["n_train"] == 600 and results["conversion"]["rss_source"] == "VmHWM"
    assert 0.01 < results["conversion"]["peak_rss_gib"] < 1.5
    assert results["pipeline"]["1000"]["seq_per_s"] > 0 and results["pipeline"]["500"]["batch_size"] == 256
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]  # temporary files removed
