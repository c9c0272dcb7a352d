"""data.example_inputs: a genome with the bundle's motifs planted where sites.tsv says, and a VCF
whose REF alleles match it and whose core variants destroy each site's consensus."""
import csv
import math

import pysam

from data import example_inputs
from data.jaspar import load_motifs


def test_sites_are_planted_where_recorded_and_variants_match_the_genome(synthetic_mat_dir, tmp_path):
    result = example_inputs.write_example(synthetic_mat_dir, tmp_path / "ex")
    genome = pysam.FastaFile(str(tmp_path / "ex" / "genome.fa"))
    chrom = genome.fetch("chr1")
    assert len(chrom) == result["length"]
    by_id = {m.matrix_id: m for m in load_motifs("JASPAR2018")}
    with open(tmp_path / "ex" / "sites.tsv", newline="") as handle:
        sites = list(csv.DictReader(handle, delimiter="\t"))
    assert len(sites) == len(result["sites"]) > 1
    for site in sites:
        motif = by_id[site["matrix_id"]].probabilities
        planted = chrom[int(site["start"]):int(site["end"])]
        assert planted == "".join("ACGT"[i] for i in motif.argmax(axis=1))  # the consensus, independently
    for record in pysam.VariantFile(str(tmp_path / "ex" / "variants.vcf")):
        ref = chrom[record.pos - 1:record.pos - 1 + len(record.ref)]
        assert ref == record.ref and len(record.alts[0]) == len(ref)
        assert all(a != r for a, r in zip(record.alts[0], ref))  # every base changed
    cores = {r.id: r for r in pysam.VariantFile(str(tmp_path / "ex" / "variants.vcf")) if r.id.endswith("_core")}
    for site in sites:
        core = cores[f"{site['name']}_core"]
        offset = core.pos - 1 - int(site["start"])
        motif = by_id[site["matrix_id"]].probabilities
        width = example_inputs.CORE_WIDTH
        info = [2 + sum(p * math.log2(p) for p in row if p > 0) for row in motif]  # bits per position
        windows = [sum(info[i:i + width]) for i in range(len(info) - width + 1)]
        assert offset == windows.index(max(windows)) and len(core.ref) == width  # the most informative bases
        for k, base in enumerate(core.alts[0]):
            assert "ACGT".index(base) == motif[offset + k].argmin()  # each replaced by its least likely one
