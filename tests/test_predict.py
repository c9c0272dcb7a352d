"""predict.py: every subcommand against an independent computation (string slicing, a dict one-hot,
model.predict on both strands), the window conventions at their edges, bad input, export, and a
known truth (a model trained on synthetic JASPAR-motif data sees a destroyed motif)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import cli
import predict
from predict_helpers import (alt_window, bgzip, consensus, one_hot_string, random_dna, ref_window,
                             reference_scores, tiny_model, write_fasta, write_vcf)

L = 40  # the tiny model's input length
REPO = Path(__file__).resolve().parents[1]


def run(argv) -> int:
    return cli.run_command(predict.main, [str(a) for a in argv])


def read_h5(path) -> dict:
    with h5py.File(path, "r") as h5:
        out = {}
        for key in h5:
            data = h5[key][()]
            if h5[key].dtype.kind == "O":
                data = np.array([v.decode() if isinstance(v, bytes) else v for v in np.atleast_1d(data)])
            out[key] = data
        out["attrs"] = dict(h5.attrs)
    return out


def read_tsv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def leftovers(folder: Path) -> list[str]:
    """Temporary files a failed write would have left."""
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model(L).save(path)
    return path


@pytest.fixture(scope="module")
def model(model_path):
    import rundir

    return rundir.load_keras_file(model_path)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """chr1 (300 bp: an N run, a soft-masked stretch) and chr2 (120 bp), as strings and a FASTA."""
    rng = np.random.default_rng(7)
    chr1 = list(random_dna(rng, 300))
    chr1[100:110] = "N" * 10
    chr1[150:170] = [b.lower() for b in chr1[150:170]]
    chroms = {"chr1": "".join(chr1), "chr2": random_dna(rng, 120)}
    folder = tmp_path_factory.mktemp("genome")
    path = write_fasta(folder / "genome.fa", chroms, width=50)
    return {"path": path, "seqs": {k: v.upper() for k, v in chroms.items()}, "folder": folder}


# --- window conventions ------------------------------------------------------------------------

def test_window_rules_worked_examples():
    from data.windows import centered_window, sequence_window_starts, variant_windows

    # The docs' worked examples: L = 1000.
    snv = variant_windows(1000, 1, 1, 1000)
    assert snv.ref_span == (500, 1500) and snv.ref_offset == 499  # the SNV is the 500th base
    three = variant_windows(1000, 3, 1, 1000)  # REF ACG (0-based 999..1001), ALT A
    assert three.ref_span == (501, 1501) and three.ref_offset == 498
    assert three.alt_left == (500, 999) and three.alt_right == (1002, 1502)  # 499 + 1 + 500 = 1000
    insertion = variant_windows(1000, 1, 4, 1000)  # REF A, ALT ATTT: ALT starts at 1000//2 - 1 - 2
    assert insertion.alt_left == (999 - 497, 999) and insertion.alt_right == (1000, 1000 + 499)
    assert centered_window(1000, 1200, 1000) == (600, 1600)  # DeepSEA's 200 bp bin + 400 bp flanks
    assert centered_window(0, 1000, 1000) == (0, 1000)
    assert sequence_window_starts(1000, 1000).tolist() == [0]
    assert sequence_window_starts(2500, 1000).tolist() == [0, 1000, 1500]  # last tile flush with the end
    assert sequence_window_starts(2500, 1000, stride=750).tolist() == [0, 750, 1500]
    assert sequence_window_starts(2500, 1000, center=True).tolist() == [750]
    assert sequence_window_starts(993, 1000).tolist() == [-3]  # 3 N before, 4 after


# --- sequences -----------------------------------------------------------------------------------

def test_sequences_tile_pad_and_iupac_match_reference(model, model_path, tmp_path):
    rng = np.random.default_rng(1)
    long = random_dna(rng, 2 * L + 13)
    records = {
        "exact": random_dna(rng, L),
        "long": long,
        "short": random_dna(rng, L - 7),
        "ambiguous": "ACGTRYKMNNNNNNacgtSWBDHV" + random_dna(rng, L - 24),
    }
    fasta = write_fasta(tmp_path / "in.fa.gz", records, compress=True)
    out = tmp_path / "scores.h5"
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", out, "--batch-size", "3",
                "--no-progress"]) == 0
    result = read_h5(out)
    pad = "N" * ((L - (L - 7)) // 2)
    expected = [("exact", 0, records["exact"]), ("long", 0, long[:L]), ("long", L, long[L:2 * L]),
                ("long", L + 13, long[13 + L:]),
                ("short", -3, pad + records["short"] + "N" * 4), ("ambiguous", 0, records["ambiguous"])]
    assert result["names"].tolist() == [e[0] for e in expected]
    assert result["start"].tolist() == [e[1] for e in expected]
    assert (result["end"] - result["start"]).tolist() == [L] * len(expected)
    assert result["length"].tolist() == [L, 2 * L + 13, 2 * L + 13, 2 * L + 13, L - 7, L]
    np.testing.assert_allclose(result["scores"], reference_scores(model, [e[2] for e in expected]), atol=1e-5)
    assert result["scores"].dtype == np.float32 and result["scores"].shape == (6, 919)
    assert result["target_names"][0] == "8988T|DNase|None" and len(result["target_names"]) == 919
    assert result["attrs"]["sequence_length"] == L and "reverse-complement" in result["attrs"]["strand_averaging"]


def test_sequences_center_stride_and_tsv(model, model_path, tmp_path):
    rng = np.random.default_rng(2)
    long = random_dna(rng, L + 21)
    fasta = write_fasta(tmp_path / "in.fa", {"s": long})
    out = tmp_path / "centre.tsv"
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", out, "--center",
                "--targets", "GM12878|CTCF|*", "K562|CTCF|*", "--no-progress"]) == 0
    rows = read_tsv(out)
    targets = read_tsv(tmp_path / "centre.targets.tsv")
    # DeepSEA measured CTCF four times in GM12878 and five in K562 (labs); columns say name:index.
    assert [t["index"] for t in targets] == ["127", "149", "338", "415", "618", "726", "746", "781", "804"]
    assert {t["name"] for t in targets} == {"GM12878|CTCF|None", "K562|CTCF|None"}
    assert targets[0]["cell_type"] == "GM12878" and targets[0]["assay"] == "CTCF"
    assert targets[0]["treatment"] == "None" and targets[0]["category"] == "TF binding"
    assert targets[0]["column"] == "GM12878|CTCF|None:127"
    assert list(rows[0]) == ["names", "start", "end", "length", *[t["column"] for t in targets]]
    assert int(rows[0]["start"]) == 10
    expected = reference_scores(model, [long[10:10 + L]])[0][[int(t["index"]) for t in targets]]
    np.testing.assert_allclose([float(rows[0][t["column"]]) for t in targets], expected, rtol=1e-5, atol=1e-6)

    strided = tmp_path / "strided.h5"
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", strided, "--stride", "8",
                "--no-progress"]) == 0
    result = read_h5(strided)
    assert result["start"].tolist() == [0, 8, 16, 21]
    np.testing.assert_allclose(result["scores"], reference_scores(model, [long[s:s + L] for s in (0, 8, 16, 21)]),
                               atol=1e-5)


# --- regions ---------------------------------------------------------------------------------------

def test_regions_match_reference_and_edges(model, model_path, genome, tmp_path, capsys):
    seqs = genome["seqs"]
    bed = tmp_path / "peaks.bed"
    bed.write_text("track name=x\n"
                   "chr1\t90\t130\tnrun\n"           # window [90, 130): holds the N run
                   "chr1\t260\t300\tend\t0\t-\n"    # window exactly touching the chromosome end
                   "chr1\t0\t1\tfirst\n"            # window [-20, 20): off the start -> skipped
                   "chr2\t41\t44\n"                 # odd length: midpoint 42, window [22, 62)
                   "chr1\t150\t170\tmasked\n")      # soft-masked bases
    out = tmp_path / "regions.h5"
    assert run(["regions", "--model", model_path, "--bed", bed, "--genome", genome["path"], "-o", out,
                "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "line 4: first" in captured.err and "runs off chr1" in captured.err
    assert "4 of 5 regions" in captured.out
    result = read_h5(out)
    assert result["names"].tolist() == ["nrun", "end", "chr2:41-44", "masked"]
    spans = [("chr1", 90), ("chr1", 260), ("chr2", 22), ("chr1", 140)]
    assert list(zip(result["chrom"].tolist(), result["start"].tolist())) == spans
    assert result["interval_start"].tolist() == [90, 260, 41, 150]
    expected = reference_scores(model, [seqs[c][s:s + L] for c, s in spans])
    np.testing.assert_allclose(result["scores"], expected, atol=1e-5)

    # A bgzipped genome (indexed on first use: .fai and .gzi) gives the same scores.
    packed = bgzip(genome["path"])
    out2 = tmp_path / "regions_bgzip.h5"
    assert run(["regions", "--model", model_path, "--bed", bed, "--genome", packed, "-o", out2,
                "--no-progress"]) == 0
    assert "no index; writing genome.fa.gz.fai, genome.fa.gz.gzi" in capsys.readouterr().err
    np.testing.assert_array_equal(read_h5(out2)["scores"], result["scores"])


# --- variants --------------------------------------------------------------------------------------

def test_variants_match_reference_windows(model, model_path, genome, tmp_path, capsys):
    chrom = genome["seqs"]["chr1"]
    c2 = genome["seqs"]["chr2"]
    half = L // 2

    def base(p, s=chrom):
        return s[p - 1]

    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    rows = [
        ("chr1", half, "first", base(half), other[base(half)]),                  # first allowed POS
        ("chr1", half - 1, "tooearly", base(half - 1), other[base(half - 1)]),   # window off the start
        ("chr1", 200, "multi", base(200), f"{other[base(200)]},{other[other[base(200)]]}"),
        ("chr1", 210, "del", chrom[209:212], chrom[209]),                        # 3 bp REF -> 1 bp
        ("chr1", 220, "ins", base(220), base(220) + "TTG"),                      # insertion
        ("chr1", 230, "mnv", chrom[229:231], "".join(other[b] for b in chrom[229:231])),
        ("chr1", 240, "mismatch", other[base(240)], base(240)),                  # REF disagrees
        ("chr1", 245, "symbolic", base(245), "<DEL>"),
        ("chr2", 120 - half, "last", base(120 - half, c2), other[base(120 - half, c2)]),  # last allowed POS
        ("chr2", 120 - half + 1, "offend", base(120 - half + 1, c2), "A"),       # window past the end
        ("chr1", 300 - half - 1, "delend", chrom[298 - half:301 - half], chrom[298 - half]),  # extension off
    ]
    vcf = write_vcf(tmp_path / "v.vcf", rows, {"chr1": 300, "chr2": 120})
    out = tmp_path / "effects.h5"
    assert run(["variants", "--model", model_path, "--vcf", bgzip(vcf), "--genome", genome["path"],
                "-o", out, "--batch-size", "4", "--no-progress"]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped:")]
    expected_skips = [r for r in rows if r[2] in ("tooearly", "mismatch", "symbolic", "offend", "delend")]
    assert len(skipped) == 5
    for (c, p, _, r, a), line in zip(expected_skips, skipped):
        assert f": {c}:{p}:{r}:{a}: " in line
    assert "REF disagrees with the genome" in skipped[1] and "symbolic" in skipped[2]
    assert "runs off chr1" in skipped[0] and "runs off chr2" in skipped[3] and "runs off chr1" in skipped[4]
    assert "7 of 12 variants scored (1 REF mismatch, left out; 3 off a chromosome end; 1 not sequence)" in captured.out

    result = read_h5(out)
    scored = [r for r in rows if r[2] in ("first", "multi", "del", "ins", "mnv", "last")]
    expect = []
    for c, pos, ident, ref, alts in scored:
        for alt in alts.split(","):
            expect.append((c, pos, ident, ref, alt))
    assert result["variant_id"].tolist() == [f"{c}:{p}:{r}:{a}" for c, p, _, r, a in expect]
    assert result["id"].tolist() == [e[2] for e in expect]
    seqs = genome["seqs"]
    ref_windows = [ref_window(seqs[c], p, r, L) for c, p, _, r, _ in expect]
    alt_windows = [alt_window(seqs[c], p, r, a, L) for c, p, _, r, a in expect]
    assert ref_windows[0] == chrom[:L] and ref_windows[0][half - 1] == base(half)  # the L/2-th base
    assert all(len(w) == L for w in ref_windows + alt_windows)
    ref = reference_scores(model, ref_windows)
    alt = reference_scores(model, alt_windows)
    np.testing.assert_allclose(result["ref"], ref, atol=1e-5)
    np.testing.assert_allclose(result["alt"], alt, atol=1e-5)
    np.testing.assert_allclose(result["diff"], alt - ref, atol=1e-5)
    r, a = np.clip(ref, 1e-6, 1 - 1e-6), np.clip(alt, 1e-6, 1 - 1e-6)
    np.testing.assert_allclose(result["log2_odds_ratio"], np.log2(a / (1 - a)) - np.log2(r / (1 - r)), atol=2e-4)
    assert result["ref_matches_genome"].tolist() == [1] * 7

    # --allow-ref-mismatch keeps it, with the VCF's REF in the reference window.
    kept = tmp_path / "kept.h5"
    assert run(["variants", "--model", model_path, "--vcf", vcf, "--genome", genome["path"], "-o", kept,
                "--allow-ref-mismatch", "--no-progress"]) == 0
    assert "kept with the VCF's REF" in capsys.readouterr().err
    kept_result = read_h5(kept)
    row = kept_result["id"].tolist().index("mismatch")
    assert kept_result["ref_matches_genome"][row] == 0
    vcf_ref = chrom[:239] + other[base(240)] + chrom[240:]
    np.testing.assert_allclose(kept_result["ref"][row], reference_scores(model, [ref_window(vcf_ref, 240, "X", L)])[0],
                               atol=1e-5)
    np.testing.assert_allclose(kept_result["alt"][row],
                               reference_scores(model, [alt_window(chrom, 240, base(240), base(240), L)])[0], atol=1e-5)


def test_variants_tsv_wide_and_top(model_path, genome, tmp_path):
    chrom = genome["seqs"]["chr1"]
    rows = [("chr1", 200, "a", chrom[199], "A" if chrom[199] != "A" else "C"),
            ("1", 230, "b", chrom[229], "T" if chrom[229] != "T" else "G")]  # Ensembl name -> chr1
    vcf = write_vcf(tmp_path / "v.vcf", rows, {"chr1": 300})
    h5 = tmp_path / "v.h5"
    assert run(["variants", "--model", model_path, "--vcf", vcf, "--genome", genome["path"], "-o", h5,
                "--targets", "DNase", "--no-progress"]) == 0
    full = read_h5(h5)
    assert full["diff"].shape == (2, 125) and set(full["category"].tolist()) == {"DNase"}

    wide = tmp_path / "v.tsv"
    assert run(["variants", "--model", model_path, "--vcf", vcf, "--genome", genome["path"], "-o", wide,
                "--targets", "DNase", "--value", "log2_odds_ratio", "--no-progress"]) == 0
    table = read_tsv(wide)
    assert [r["variant_id"] for r in table] == full["variant_id"].tolist()
    assert list(table[0])[:7] == ["variant_id", "chrom", "pos", "id", "ref_allele", "alt_allele", "ref_matches_genome"]
    columns = [f"{n}:{i}" for n, i in zip(full["target_names"], full["target_index"])]
    values = np.array([[float(r[c]) for c in columns] for r in table])
    np.testing.assert_allclose(values, full["log2_odds_ratio"], rtol=1e-5, atol=1e-6)
    assert (tmp_path / "v.targets.tsv").is_file()

    long = tmp_path / "top.tsv"
    assert run(["variants", "--model", model_path, "--vcf", vcf, "--genome", genome["path"], "-o", long,
                "--targets", "DNase", "--top", "3", "--no-progress"]) == 0
    top = read_tsv(long)
    assert len(top) == 6 and not (tmp_path / "top.targets.tsv").exists()
    assert {"rank", "name", "cell_type", "assay", "treatment", "category", "ref", "alt", "diff",
            "log2_odds_ratio"} <= set(top[0])
    for v in range(2):
        mine = [r for r in top if r["variant_id"] == full["variant_id"][v]]
        best = np.argsort(-np.abs(full["diff"][v]), kind="stable")[:3]
        assert [r["name"] for r in mine] == [full["target_names"][j] for j in best]
        assert [r["rank"] for r in mine] == ["1", "2", "3"] and mine[0]["assay"] == "DNase"
        np.testing.assert_allclose([float(r["diff"]) for r in mine], full["diff"][v][best], rtol=1e-5, atol=1e-7)


# --- mutagenesis -----------------------------------------------------------------------------------

def test_mutagenesis_every_substitution_matches_reference(model, model_path, genome, tmp_path):
    rng = np.random.default_rng(3)
    sequence = list(random_dna(rng, L))
    sequence[5] = "N"
    sequence = "".join(sequence)
    fasta = write_fasta(tmp_path / "one.fa", {"win": sequence})
    out = tmp_path / "ism.h5"
    assert run(["mutagenesis", "--model", model_path, "--fasta", fasta, "-o", out, "--targets", "K562|*|*",
                "--plot-targets", "2", "--plot-span", "20", "--no-progress"]) == 0
    result = read_h5(out)
    assert result["sequence"][0] == sequence and result["bases"].tolist() == list("ACGT")
    index = result["target_index"]
    mutants, where = [], []
    for i in range(L):
        for j, b in enumerate("ACGT"):
            if b != sequence[i]:
                mutants.append(sequence[:i] + b + sequence[i + 1:])
                where.append((i, j))
    assert len(mutants) == 3 * (L - 1) + 4
    ref = reference_scores(model, [sequence])[0][index]
    expected = reference_scores(model, mutants)[:, index]
    np.testing.assert_allclose(result["ref"], ref, atol=1e-5)
    got = np.array([result["alt"][i, j] for i, j in where])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(result["effect"], result["alt"] - result["ref"], atol=1e-6)
    i = 9
    ref_base = "ACGT".index(sequence[i])
    others = [j for j in range(4) if j != ref_base]
    np.testing.assert_allclose(result["importance"][i], -result["effect"][i, others].mean(axis=0), atol=1e-6)
    assert np.all(result["importance"][5] == 0)  # N: no reference base to weight
    assert (tmp_path / "ism.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "ism.pdf").read_bytes()[:4] == b"%PDF"

    # --region: the window centred on a genome region, mutated in the genome's own sequence.
    out2 = tmp_path / "region.tsv"
    assert run(["mutagenesis", "--model", model_path, "--region", "chr2:51-60", "--genome", genome["path"],
                "-o", out2, "--targets", "0", "--plot-targets", "0", "--no-progress"]) == 0
    window = genome["seqs"]["chr2"][35:75]  # 0-based [50, 60): midpoint 55, window [35, 75)
    rows = read_tsv(out2)
    assert len(rows) == 3 * L and rows[0]["position"] == "35" and rows[0]["ref_base"] == window[0]
    probe = rows[7]
    i = int(probe["index"])
    mutated = window[:i] + probe["alt_base"] + window[i + 1:]
    scores = reference_scores(model, [window, mutated])[:, 0]
    assert float(probe["8988T|DNase|None:0"]) == pytest.approx(scores[1] - scores[0], abs=1e-5)
    assert not (tmp_path / "region.png").exists()


def test_mutagenesis_plot_takes_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inference.plots import plot_mutagenesis

    fig, axes = plt.subplots(2, 1)
    effect = np.random.default_rng(0).normal(size=(12, 4))
    assert plot_mutagenesis(effect, "ACGTNACGTACG", ax=axes) is fig
    assert plot_mutagenesis(effect, "ACGTNACGTACG").axes
    with pytest.raises(ValueError, match="effect must be"):
        plot_mutagenesis(effect[:5], "ACGTNACGTACG")
    plt.close("all")


# --- bad input: one line, exit 2, no output ---------------------------------------------------------

@pytest.fixture
def bad(model_path, genome, tmp_path, capsys):
    """Run a predict.py command that must fail; returns its one error line."""
    def check(argv, out):
        code = run(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == cli.EXIT_USAGE, err
        assert err and err[-1].startswith("error: ") and "Traceback" not in "\n".join(err)
        assert not Path(out).exists() and not leftovers(Path(out).parent)
        return err[-1]
    return check


def test_bad_inputs_fail_cleanly(bad, model_path, genome, tmp_path):
    out = tmp_path / "out.h5"
    m = ["--model", model_path]
    bed = tmp_path / "ok.bed"
    bed.write_text("chr1\t100\t140\n")
    assert "no such genome FASTA" in bad(["regions", *m, "--bed", bed, "--genome", tmp_path / "nope.fa", "-o", out], out)
    plain_gzip = write_fasta(tmp_path / "g.fa.gz", {"chr1": "ACGT" * 50}, compress=True)
    assert "not with bgzip" in bad(["regions", *m, "--bed", bed, "--genome", plain_gzip, "-o", out], out)
    absent = tmp_path / "absent.bed"
    absent.write_text("chr1\t100\t140\nchrX\t5\t10\n")
    assert "line 2: chromosome 'chrX' is not in the genome" in bad(
        ["regions", *m, "--bed", absent, "--genome", genome["path"], "-o", out], out)
    past = tmp_path / "past.bed"
    past.write_text("chr2\t100\t121\n")
    assert "ends past the end of chr2" in bad(["regions", *m, "--bed", past, "--genome", genome["path"], "-o", out], out)
    malformed_bed = tmp_path / "bad.bed"
    malformed_bed.write_text("chr1\t100\tx\n")
    assert "line 1: start and end must be integers" in bad(
        ["regions", *m, "--bed", malformed_bed, "--genome", genome["path"], "-o", out], out)

    vcf = tmp_path / "bad.vcf"
    write_vcf(vcf, [("chr1", 100, ".", genome["seqs"]["chr1"][99], "A")], {"chr1": 300})
    vcf.write_text(vcf.read_text() + "chr1\tnotapos\t.\tA\tC\t.\t.\t.\n")
    line = bad(["variants", *m, "--vcf", vcf, "--genome", genome["path"], "-o", out], out)
    assert "line 5: malformed VCF record" in line
    not_vcf = tmp_path / "plain.vcf"
    not_vcf.write_text("chr1\t100\t.\tA\tC\n")
    assert "is not a VCF" in bad(["variants", *m, "--vcf", not_vcf, "--genome", genome["path"], "-o", out], out)
    absent_vcf = write_vcf(tmp_path / "absent.vcf", [("chrZ", 100, ".", "A", "C")], {"chrZ": 300})
    assert "chromosome 'chrZ' is not in the genome" in bad(
        ["variants", *m, "--vcf", absent_vcf, "--genome", genome["path"], "-o", out], out)

    empty = tmp_path / "empty.fa"
    empty.write_text("")
    assert "is empty" in bad(["sequences", *m, "--fasta", empty, "-o", out], out)
    text = tmp_path / "text.fa"
    text.write_text("ACGT\n")
    assert "not FASTA" in bad(["sequences", *m, "--fasta", text, "-o", out], out)
    junk = write_fasta(tmp_path / "junk.fa", {"ok": "ACGT", "bad": "ACGU"})
    assert "record 2 ('bad'): character 'U' at position 4" in bad(["sequences", *m, "--fasta", junk, "-o", out], out)

    variable = tmp_path / "variable.keras"
    tiny_model(L, variable_length=True).save(variable)
    fasta = write_fasta(tmp_path / "ok.fa", {"s": "ACGT" * 10})
    assert "inputs of any length" in bad(["sequences", "--model", variable, "--fasta", fasta, "-o", out], out)
    assert "--center and --stride exclude each other" in bad(
        ["sequences", *m, "--fasta", fasta, "-o", out, "--center", "--stride", "5"], out)
    assert "matches none of the 919 targets" in bad(
        ["sequences", *m, "--fasta", fasta, "-o", out, "--targets", "GM99999|*|*"], out)
    assert "runs off chr2" in bad(["mutagenesis", *m, "--region", "chr2:1-5", "--genome", genome["path"],
                                   "-o", out], out)


def test_outputs_are_never_overwritten_unasked(model_path, tmp_path, capsys):
    fasta = write_fasta(tmp_path / "ok.fa", {"s": "ACGT" * 10})
    out = tmp_path / "out.h5"
    out.write_text("precious")
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", out]) == cli.EXIT_USAGE
    assert "already exists; pass --force" in capsys.readouterr().err and out.read_text() == "precious"
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", fasta, "--force"]) == cli.EXIT_USAGE
    assert "is also an input" in capsys.readouterr().err
    assert run(["sequences", "--model", model_path, "--fasta", fasta, "-o", out, "--force", "--no-progress"]) == 0
    assert read_h5(out)["scores"].shape == (1, 919)


def test_unindexed_plain_genome_is_indexed_once(model_path, genome, tmp_path, capsys):
    from data.genome import Genome

    path = write_fasta(tmp_path / "fresh.fa", {"c": "ACGT" * 30})
    with Genome(path) as g:
        assert g.fetch("c", 4, 8) == "ACGT" and (tmp_path / "fresh.fa.fai").is_file()
    assert "no index; writing fresh.fa.fai" in capsys.readouterr().err
    with Genome(path):
        pass
    assert capsys.readouterr().err == ""
    assert not leftovers(tmp_path)


# --- export ----------------------------------------------------------------------------------------

RELOAD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras, tensorflow as tf
    x = np.load("x.npy")
    for name in sys.argv[1:]:
        model = keras.saving.load_model(name + "/model.keras")
        served = tf.saved_model.load(name + "/saved_model")
        np.save(name + "_keras.npy", np.asarray(model(x, training=False)))
        np.save(name + "_serve.npy", served.serve(tf.constant(x)).numpy())
        np.save(name + "_single.npy", served.serve_single_strand(tf.constant(x)).numpy())
    project = [m for m in ("models", "data", "inference", "rundir", "cli") if m in sys.modules]
    print(json.dumps({"project_modules": project, "path": sys.path}))
""")


def _reload_outside_repo(exports: dict[str, Path], x: np.ndarray, work: Path) -> dict:
    """Load each export in one fresh Python process run in ``work``, without the repo on its path."""
    work.mkdir()
    np.save(work / "x.npy", x)
    for name, folder in exports.items():
        (work / name).symlink_to(folder)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", RELOAD, *exports], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["project_modules"] == [] and not any(str(REPO) == p for p in info["path"])
    return {name: {k: np.load(work / f"{name}_{k}.npy") for k in ("keras", "serve", "single")} for name in exports}


@pytest.mark.slow
def test_export_reloads_without_the_project(tmp_path, capsys):
    """A CRNN (leaky ReLU, Keras-2 hard-sigmoid LSTM gates) and DeepSEA (Threshold activations)
    export to a .keras and a SavedModel that a fresh process outside the repo loads and runs."""
    import keras

    from models.crnn import build_crnn
    from models.deepsea import build_deepsea

    keras.utils.set_random_seed(4)
    models = {"crnn": build_crnn(sequence_length=200, filters=8, projection_dim=4, conv2_filters=6, lstm_units=5,
                                 hidden_units=7, num_targets=919),
              "deepsea": build_deepsea(sequence_length=200, filters=8, hidden_units=7, num_targets=919)}
    exports = {}
    for family, model in models.items():
        source = tmp_path / f"{family}.keras"
        model.save(source)
        exports[family] = tmp_path / f"exported_{family}"
        assert run(["export", "--model", source, exports[family]]) == 0
        assert "model.keras, saved_model" in capsys.readouterr().out
        info = json.loads((exports[family] / "export.json").read_text())
        assert info["sequence_length"] == 200 and info["check"]["max_abs_difference"] <= 1e-5
        assert any(("LSTM gates" if family == "crnn" else "deepsea_threshold") in n for n in info["rewrites"])
        assert read_tsv(exports[family] / "targets.tsv")[0]["name"] == "8988T|DNase|None"
    rng = np.random.default_rng(5)
    x = np.stack([one_hot_string(random_dna(rng, 190) + "N" * 10) for _ in range(4)])
    got = _reload_outside_repo(exports, x, tmp_path / "elsewhere")
    for family, model in models.items():
        forward = model.predict(x, verbose=0)
        averaged = (forward + model.predict(x[:, ::-1, ::-1].copy(), verbose=0)) / 2
        np.testing.assert_allclose(got[family]["keras"], forward, atol=1e-5)
        np.testing.assert_allclose(got[family]["single"], forward, atol=1e-5)
        np.testing.assert_allclose(got[family]["serve"], averaged, atol=1e-5)


def test_export_replaces_only_an_earlier_export(model_path, tmp_path, capsys):
    out = tmp_path / "exported"
    assert run(["export", "--model", model_path, out]) == 0
    assert "conv1: leaky_relu_001 -> LeakyReLU" in capsys.readouterr().out
    first = (out / "export.json").stat().st_mtime_ns
    assert run(["export", "--model", model_path, out]) == cli.EXIT_USAGE
    assert "already exists; pass --force" in capsys.readouterr().err
    assert run(["export", "--model", model_path, out, "--force"]) == 0
    assert (out / "export.json").stat().st_mtime_ns != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported"]  # nothing left beside it
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert run(["export", "--model", model_path, other, "--force"]) == cli.EXIT_USAGE
    assert "is not an earlier predict.py export" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_export_gate_rewrite_is_checked(monkeypatch, tmp_path):
    """Without the x1.2 gate scaling the stock hard_sigmoid differs, and the export check says so."""
    import keras

    from inference import export
    from inference.model import LoadedModel
    from models.crnn import build_crnn

    keras.utils.set_random_seed(6)
    model = build_crnn(sequence_length=200, filters=8, projection_dim=4, conv2_filters=6, lstm_units=5,
                       hidden_units=7, num_targets=3)
    loaded = LoadedModel(model, tmp_path / "m.keras", 200, 3)
    portable, notes = export.portable_model(model)
    x = export.check_inputs(200)
    assert np.abs(np.asarray(portable(x)) - np.asarray(model(x))).max() <= 1e-5
    assert any("LSTM gates" in n for n in notes) and '"projection_layers>' not in portable.to_json()
    monkeypatch.setattr(export, "GATE_SCALE", 1.0)
    with pytest.raises(export.ExportError, match="differs from the model"):
        export.export_model(loaded, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_export_refuses_unknown_custom_layer(tmp_path):
    import keras

    from inference import export
    from inference.model import LoadedModel

    @keras.saving.register_keras_serializable(package="test_predict")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((20, 4))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(Doubler()(inputs))))
    with pytest.raises(export.ExportError, match="test_predict>Doubler"):
        export.export_model(LoadedModel(model, tmp_path / "m.keras", 20, 3), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- known truth: a trained model sees a destroyed motif ---------------------------------------------

TRUTH_L = 200
CTCF = "MA0139.1"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small CNN fitted (seconds) on a synthetic bundle whose 919 labels are driven by 4 JASPAR motifs."""
    import keras

    from data import synthetic
    from data.encoding import center_crop
    from data.mat import read_all
    from models.blocks import leaky_relu_001

    folder = tmp_path_factory.mktemp("truth")
    truth = synthetic.generate(folder / "data", n_train=2, n_valid=3000, n_test=2, seed=0, num_motifs=4,
                               motifs_per_sequence=1.5)
    x, y = read_all(folder / "data" / "valid.mat", "valid")
    x = center_crop(x, TRUTH_L, axis=-2).astype(np.float32)  # the motifs sit in the central 200 bp
    keras.utils.set_random_seed(0)
    inputs = keras.Input((TRUTH_L, 4), name="sequence")
    h = keras.layers.Conv1D(32, 19, activation=leaky_relu_001, name="conv1")(inputs)
    h = keras.layers.GlobalMaxPooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(919, activation="sigmoid", name="predictions")(h))
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy")
    model.fit(x, y.astype(np.float32), batch_size=64, epochs=8, verbose=0)
    path = folder / "trained.keras"
    model.save(path)
    return {"path": path, "truth": truth}


@pytest.mark.slow
def test_destroyed_motif_drops_its_targets(trained, tmp_path, capsys):
    """Variants replacing a planted CTCF motif's most informative bases lower the CTCF-driven
    targets' predictions, much more than the others'; variants away from motifs change little."""
    from data.jaspar import load_motifs

    motif = {m.matrix_id: m for m in load_motifs()}[CTCF]
    probabilities = motif.probabilities
    site = consensus(probabilities)
    information = 2 + (probabilities * np.log2(probabilities + 1e-9)).sum(axis=1)
    core = np.sort(np.argsort(-information)[:4])  # the four most informative positions
    rng = np.random.default_rng(11)
    chrom = list(random_dna(rng, 2400))
    centres = [300, 800, 1300, 1800]
    for c in centres:
        chrom[c:c + len(site)] = site
    chrom = "".join(chrom)
    genome = write_fasta(tmp_path / "planted.fa", {"chr1": chrom})
    rows = []
    for c in centres:
        first, last = c + 1 + core[0], c + 1 + core[-1]  # 1-based span of the core
        ref = chrom[first - 1:last]
        alt = "".join(ref[i] if (first - 1 + i - c) not in core else
                      "ACGT"[int(np.argmin(probabilities[first - 1 + i - c]))] for i in range(len(ref)))
        rows.append(("chr1", first, f"core{c}", ref, alt))
        # 60 bp before the site: both windows still hold the intact motif, the change is outside it
        rows.append(("chr1", c - 60, f"flank{c}", chrom[c - 61], "A" if chrom[c - 61] != "A" else "C"))
    vcf = write_vcf(tmp_path / "planted.vcf", rows, {"chr1": len(chrom)})
    out = tmp_path / "effects.h5"
    assert run(["variants", "--model", trained["path"], "--vcf", vcf, "--genome", genome, "-o", out,
                "--no-progress"]) == 0
    result = read_h5(out)
    drivers = [t["motifs"] for t in trained["truth"]["targets"]]
    ctcf = np.array([m == [CTCF] for m in drivers])  # driven by CTCF alone
    unrelated = np.array([CTCF not in m for m in drivers])
    core_rows = [i for i, v in enumerate(result["id"].tolist()) if v.startswith("core")]
    flank_rows = [i for i, v in enumerate(result["id"].tolist()) if v.startswith("flank")]
    diff = result["diff"]
    drop = -diff[np.ix_(core_rows, np.flatnonzero(ctcf))].mean()
    others = np.abs(diff[np.ix_(core_rows, np.flatnonzero(unrelated))]).mean()
    flank = np.abs(diff[flank_rows]).mean()
    assert result["ref"][np.ix_(core_rows, np.flatnonzero(ctcf))].mean() > 0.5  # the site is seen
    print(f"CTCF targets: mean drop {drop:.3f}; unrelated targets: mean |diff| {others:.3f}; "
          f"flank variants: mean |diff| {flank:.3f}")
    assert drop > 0.25, drop
    assert drop > 3 * others, (drop, others)
    per_variant = -diff[np.ix_(core_rows, np.flatnonzero(ctcf))].mean(axis=1)
    assert np.all(per_variant > 2 * np.abs(diff[np.ix_(core_rows, np.flatnonzero(unrelated))]).mean(axis=1))
    assert flank < 0.05 and flank < drop / 10, (flank, drop)


@pytest.mark.slow
def test_run_directory_made_by_train_py(synthetic_mat_dir, tmp_path, capsys):
    """--model takes a run directory as train.py writes it; its files are never an output."""
    import rundir
    import train

    run_dir = tmp_path / "run"
    assert train.main(["--model", "cnn-300", "--filters", "8", "--sequence-length", "200",
                       "--data", str(synthetic_mat_dir), "--out", str(run_dir), "--epochs", "1",
                       "--steps-per-epoch", "2", "--batch-size", "16", "--verbose", "0"]) == 0
    rng = np.random.default_rng(8)
    sequences = {"a": random_dna(rng, 200), "b": random_dna(rng, 150)}
    fasta = write_fasta(tmp_path / "in.fa", sequences)
    out = tmp_path / "scores.h5"
    assert run(["sequences", "--model", run_dir, "--fasta", fasta, "-o", out, "--no-progress"]) == 0
    result = read_h5(out)
    model = rundir.load_model(run_dir)
    expected = reference_scores(model, [sequences["a"], "N" * 25 + sequences["b"] + "N" * 25])
    np.testing.assert_allclose(result["scores"], expected, atol=1e-5)
    assert result["attrs"]["model_sha256"] == rundir.RunDir(run_dir).model_sha256()
    capsys.readouterr()
    assert run(["sequences", "--model", run_dir, "--fasta", fasta, "-o", run_dir / "x.h5"]) == cli.EXIT_USAGE
    assert "lies inside the run directory" in capsys.readouterr().err
