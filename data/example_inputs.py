"""Example inputs for predict.py that know their own truth: a genome with the synthetic bundle's motifs
planted at known places, BED regions on them, and a VCF of variants that destroy a motif's core.

    python -m data.example_inputs DATA_DIR OUT_DIR

DATA_DIR is a synthetic bundle (``python -m data.synthetic``; its ``truth.json`` says which JASPAR
motifs drive which targets). OUT_DIR gets ``genome.fa`` (one chromosome, ``chr1``, background as
the generator's, each motif's consensus planted once, 2 kb apart), ``regions.bed`` (each site, and
background intervals between sites), ``variants.vcf`` (per site: a substitution of the motif's
most informative ``CORE_WIDTH`` bases, each to its least likely base, which destroys the site, and
a control SNV 500 bp away; one SNV is not enough, as a model tolerates one mismatch in a 20 bp site),
``sequences.fa`` (the 300 bp around each site) and ``sites.tsv`` (where each motif sits, and the
targets it drives). A model trained on the bundle should predict those targets high on a site, and
lose them when its core is destroyed; the controls should change little.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from cli import UserError, run_command
from data.encoding import decode
from fileio import StagedFiles, read_json

SPACING = 2000
FIRST_SITE = 1500
FLANK = 150
CONTROL_OFFSET = 500
CORE_WIDTH = 6  # bases replaced by a core variant


def consensus_sites(truth: dict) -> list[dict]:
    """Each planted motif of a bundle's truth: name, matrix ID, consensus (A,C,G,T), the start of its
    core (the ``CORE_WIDTH`` consecutive bases of most information), the core's least likely bases,
    and the targets it drives."""
    from data.jaspar import load_motifs

    release = truth["settings"]["jaspar_release"]
    by_id = {m.matrix_id: m for m in load_motifs(release)}
    sites = []
    for motif in truth["motifs"]:
        probabilities = by_id[motif["matrix_id"]].probabilities
        bits = 2 + (probabilities * np.log2(np.clip(probabilities, 1e-9, 1))).sum(axis=1)
        core = int(np.convolve(bits, np.ones(CORE_WIDTH), mode="valid").argmax())
        sites.append({
            "name": motif["name"], "matrix_id": motif["matrix_id"],
            "consensus": "".join("ACGT"[i] for i in probabilities.argmax(axis=1)),
            "core": core,
            "broken": "".join("ACGT"[int(i)] for i in probabilities[core:core + CORE_WIDTH].argmin(axis=1)),
            "targets": [t["name"] for t in truth["targets"] if motif["matrix_id"] in t["motifs"]],
        })
    return sites


def background(length: int, gc: float, cpg_depletion: float, rng: np.random.Generator) -> str:
    """I.i.d. bases at ``gc`` GC content with ``cpg_depletion`` of CpGs mutated to TpG or CpA."""
    codes = rng.choice(4, size=length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])  # A,G,C,T
    cpg = np.flatnonzero((codes[:-1] == 2) & (codes[1:] == 1))
    cpg = cpg[rng.random(cpg.size) < cpg_depletion]
    to_tg = rng.random(cpg.size) < 0.5
    codes[cpg[to_tg]] = 3
    codes[cpg[~to_tg] + 1] = 0
    return decode(codes.astype(np.uint8))


def write_example(data_dir: str | Path, out_dir: str | Path, *, seed: int = 0) -> dict:
    """Write the example inputs for the bundle in ``data_dir``; returns what was planted where."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    truth_path = data_dir / "truth.json"
    if not truth_path.is_file():
        raise UserError(f"{data_dir}: no truth.json; give a synthetic bundle (python -m data.synthetic)")
    truth = read_json(truth_path)
    sites = consensus_sites(truth)
    rng = np.random.default_rng(seed)
    length = FIRST_SITE + SPACING * len(sites) + FIRST_SITE
    chrom = list(background(length, truth["settings"]["gc_content"], truth["settings"]["cpg_depletion"], rng))
    bed, vcf, fasta, table = [], [], [], ["name\tmatrix_id\tstart\tend\tcore_pos\ttargets"]
    for k, site in enumerate(sites):
        start = FIRST_SITE + k * SPACING  # 0-based
        end = start + len(site["consensus"])
        chrom[start:end] = site["consensus"]
        core = start + site["core"] + 1  # 1-based VCF position
        control = core + CONTROL_OFFSET
        bed.append(f"chr1\t{start}\t{end}\t{site['name']}_site")
        bed.append(f"chr1\t{start + SPACING // 2}\t{start + SPACING // 2 + 20}\tbackground_{k}")
        vcf.append((core, f"{site['name']}_core", "".join(chrom[core - 1:core - 1 + CORE_WIDTH]), site["broken"]))
        vcf.append((control, f"{site['name']}_control", chrom[control - 1],
                    "ACGT"[("ACGT".index(chrom[control - 1]) + 1) % 4]))
        table.append(f"{site['name']}\t{site['matrix_id']}\t{start}\t{end}\t{core}\t{','.join(site['targets'])}")
    genome = "".join(chrom)
    for k, site in enumerate(sites):
        start = FIRST_SITE + k * SPACING
        fasta.append(f">{site['name']}_site\n{genome[start - FLANK:start + FLANK]}")
    header = ["##fileformat=VCFv4.2", f"##contig=<ID=chr1,length={length}>",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    with StagedFiles(out_dir) as staged:
        staged.text("genome.fa", ">chr1\n" + "\n".join(genome[i:i + 60] for i in range(0, length, 60)) + "\n")
        staged.text("regions.bed", "\n".join(bed) + "\n")
        staged.text("variants.vcf", "\n".join(header + [f"chr1\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for p, i, r, a in vcf]) + "\n")
        staged.text("sequences.fa", "\n".join(fasta) + "\n")
        staged.text("sites.tsv", "\n".join(table) + "\n")
    return {"sites": sites, "length": length, "files": [p.name for p in staged.targets]}


def _main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.example_inputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="a synthetic bundle (holds truth.json)")
    parser.add_argument("out_dir", help="where to write genome.fa, regions.bed, variants.vcf, sequences.fa, sites.tsv")
    parser.add_argument("--seed", type=int, default=0, help="seed of the background sequence [default: %(default)s]")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty; choose a new directory")
    result = write_example(args.data_dir, out, seed=args.seed)
    names = ", ".join(s["name"] for s in result["sites"])
    print(f"wrote {out}: {', '.join(result['files'])} ({len(result['sites'])} planted sites: {names}; "
          f"chr1 {result['length']:,} bp)")
    return 0


def main(argv=None) -> int:
    return run_command(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
