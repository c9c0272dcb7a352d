"""Check our TOMTOM matching against MEME's own TOMTOM output on the same query motifs.

    python -m analysis.tomtom_check DanQ.meme tomtom.txt [--release JASPAR2016] [--min-overlap 5]

``DanQ.meme`` / ``tomtom.txt`` are published by github uci-cbcl/DanQ (``motifs/``): DanQ's 320
learned first-layer motifs and MEME 4.11 TOMTOM's matches of them (``-dist pearson
-min-overlap 5 -evalue -thresh 0.01``) against JASPAR CORE 2016 vertebrates, Jolma 2013 and
UniPROBE mouse. Only the JASPAR rows are used: for every query that TOMTOM matched to at least
one motif of the JASPAR release, its best JASPAR match (smallest p-value) is compared with the
best match we find against that release, with each column distance we offer
(``euclidean`` = memelite's TOMTOM, ``pearson`` = :mod:`analysis.tomtom`). Nothing is written.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from analysis.motifs import DISTANCES, match_motifs, read_meme_motifs
from analysis.runs import AnalysisError
from data.jaspar import load_motifs


def read_tomtom_txt(path: str | Path) -> list[dict]:
    """Rows of a TOMTOM 4.x ``tomtom.txt`` (query, target, offset, p_value, overlap, orientation)."""
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"{path}: file not found")
    rows = []
    with open(path, newline="") as handle:
        for line_no, fields in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not fields or fields[0].startswith("#"):
                continue
            try:
                rows.append({"query": fields[0], "target": fields[1], "offset": int(fields[2]),
                             "p_value": float(fields[3]), "overlap": int(fields[6]),
                             "orientation": fields[9]})
            except (IndexError, ValueError):
                raise AnalysisError(f"{path}:{line_no}: not a TOMTOM text row") from None
    if not rows:
        raise AnalysisError(f"{path}: no TOMTOM matches")
    return rows


def tomtom_best(rows: list[dict], target_ids: set[str]) -> dict[str, dict]:
    """Per query: TOMTOM's best match among ``target_ids`` and its ranked list of those targets."""
    best: dict[str, dict] = {}
    for row in rows:
        if row["target"] not in target_ids:
            continue
        entry = best.setdefault(row["query"], {"p": np.inf, "ties": [], "ranked": []})
        entry["ranked"].append((row["p_value"], row["target"]))
        entry.setdefault("p_by_target", {})[row["target"]] = row["p_value"]
        if row["p_value"] < entry["p"]:
            entry["p"], entry["ties"] = row["p_value"], [row["target"]]
        elif row["p_value"] == entry["p"]:
            entry["ties"].append(row["target"])
    for entry in best.values():
        entry["ranked"] = [t for _, t in sorted(entry["ranked"])]
    return best


def agreement(queries: dict[str, np.ndarray], reference: dict[str, dict], release: str,
              distance: str, min_overlap: int) -> dict:
    """Compare our best match of every reference query with TOMTOM's best JASPAR match."""
    targets = load_motifs(release)
    names = [name for name in reference if name in queries]
    missing = sorted(set(reference) - set(queries))
    if missing:
        raise AnalysisError(f"queries in tomtom.txt but not in the MEME file: {', '.join(missing[:5])}")
    # memelite (euclidean) has no minimum overlap: it always uses 1.
    overlap = min_overlap if distance == "pearson" else 1
    rows = match_motifs([queries[n] for n in names], targets, distance=distance, min_overlap=overlap,
                        release=release)
    same = top5 = ours_in_theirs = 0
    log_ratio = []  # our p-value over TOMTOM's, for the pairs where the best matches agree
    for name, row in zip(names, rows):
        ref = reference[name]
        if row["match_id"] in ref["ties"] and row["p_value"] > 0:
            log_ratio.append(np.log10(row["p_value"] / ref["p_by_target"][row["match_id"]]))
        same += row["match_id"] in ref["ties"]
        top5 += any(t in row["ranked_ids"][:5] for t in ref["ties"])
        ours_in_theirs += row["match_id"] in ref["ranked"][:5]
    n = len(names)
    return {"distance": distance, "min_overlap": overlap, "n": n, "same_best": same, "tomtom_best_in_our_top5": top5,
            "our_best_in_tomtom_top5": ours_in_theirs,
            "median_abs_log10_p_ratio": float(np.median(np.abs(log_ratio))) if log_ratio else None}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.tomtom_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("meme", help="query motifs (MEME format), e.g. DanQ.meme")
    parser.add_argument("tomtom_txt", help="MEME TOMTOM text output for those queries, e.g. tomtom.txt")
    parser.add_argument("--release", default="JASPAR2016",
                        help="JASPAR release TOMTOM searched (pyjaspar name) [default: %(default)s]")
    parser.add_argument("--min-overlap", type=int, default=5,
                        help="TOMTOM -min-overlap of that run [default: %(default)s]")
    parser.add_argument("--distances", nargs="+", choices=DISTANCES, default=list(DISTANCES),
                        help="column distances to check [default: %(default)s]")
    args = parser.parse_args(argv)
    try:
        queries = read_meme_motifs(args.meme)
        targets = load_motifs(args.release)
        reference = tomtom_best(read_tomtom_txt(args.tomtom_txt), {m.matrix_id for m in targets})
        if not reference:
            raise AnalysisError(f"{args.tomtom_txt}: no match to a {args.release} motif")
        results = [agreement(queries, reference, args.release, d, args.min_overlap) for d in args.distances]
    except (AnalysisError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(queries)} query motifs; {len(reference)} have a TOMTOM match in {args.release} "
          f"CORE vertebrates ({len(targets)} matrices)")
    for r in results:
        print(f"{r['distance']:>9} (min overlap {r['min_overlap']}): our best match = TOMTOM's best {args.release} match for "
              f"{r['same_best']}/{r['n']} ({100 * r['same_best'] / r['n']:.0f}%); TOMTOM's best in our top 5: "
              f"{r['tomtom_best_in_our_top5']}/{r['n']} ({100 * r['tomtom_best_in_our_top5'] / r['n']:.0f}%); "
              f"our best in TOMTOM's top 5: {r['our_best_in_tomtom_top5']}/{r['n']}; "
              f"median |log10(our p / TOMTOM's p)| where they agree: {r['median_abs_log10_p_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
