"""TOMTOM with Pearson or Euclidean column scores, against direct computations and memelite."""
import itertools

import numpy as np
import pytest

from analysis import tomtom as tt


def random_pwm(rng, width, concentration=0.5):
    return rng.dirichlet(np.full(4, concentration), size=width)


def test_pearson_column_scores_equal_numpy_correlation():
    rng = np.random.default_rng(0)
    query, target = random_pwm(rng, 5), random_pwm(rng, 7)
    target[3] = 0.25  # no variance: MEME scores it 0
    scores = tt.column_scores(query, target, "pearson")
    expected = np.array([[0.0 if np.allclose(t, 0.25) else np.corrcoef(q, t)[0, 1] for t in target] for q in query])
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_euclidean_column_scores_are_minus_the_distance():
    rng = np.random.default_rng(1)
    query, target = random_pwm(rng, 4), random_pwm(rng, 6)
    expected = -np.array([[np.linalg.norm(q - t) for t in target] for q in query])
    np.testing.assert_allclose(tt.column_scores(query, target, "euclidean"), expected, atol=1e-7)


def brute_force_pvalues(query, targets, distance):
    """TOMTOM's complete-score p-value of every target, by enumeration (tiny inputs only).

    Follows the method's definition with plain loops: median shift, scaling to 0..100,
    each aligned query column drawn independently and uniformly from all target columns
    (both orientations), and the best of the 2 (w + L - 1) alignments taken as independent.
    """
    oriented = [m for t in targets for m in (t, t[::-1, ::-1])]
    columns = np.concatenate(oriented)
    raw = tt.column_scores(query, columns, distance)
    n = raw.shape[1]
    lo, hi = max(int(np.floor(n / 2)) - 1, 0), max(int(np.ceil(n / 2)) - 1, 0)
    shifted = raw - np.array([(np.sort(row)[lo] + np.sort(row)[hi]) / 2 for row in raw])[:, None]
    small, large = shifted.min(), shifted.max()
    scale = 100 / (large - small)
    scaled = np.rint((shifted - small) * scale).astype(int)
    w = len(query)

    def alignments(width):
        for d in range(-(w - 1), width):
            yield [k for k in range(w) if 0 <= k + d < width], d

    def complete(values, aligned):  # the complete score of an alignment, offset removed
        return int(np.rint(sum(values) + len(aligned) * small * scale - w * small * scale))

    def survival(aligned, score):  # P(complete score of a random alignment >= score), by enumeration
        hits = sum(complete([scaled[k, c] for k, c in zip(aligned, choice)], aligned) >= score
                   for choice in itertools.product(range(n), repeat=len(aligned)))
        return hits / n ** len(aligned)

    p = []
    starts = np.concatenate([[0], np.cumsum([len(m) for m in oriented])])
    for i, matrix in enumerate(oriented):
        width = len(matrix)
        best = max(complete([scaled[k, starts[i] + k + d] for k in aligned], aligned) * (w + 1) + len(aligned)
                   for aligned, d in alignments(width))
        score = best // (w + 1)
        none = np.prod([(1 - survival(aligned, score)) ** 2 for aligned, _ in alignments(width)])
        p.append(1 - none)
    return np.array(p).reshape(-1, 2).min(axis=1)


@pytest.mark.parametrize("distance", tt.DISTANCES)
def test_pvalues_equal_brute_force_enumeration(distance):
    rng = np.random.default_rng(2)
    query = random_pwm(rng, 2)
    targets = [random_pwm(rng, 2), random_pwm(rng, 3)]
    result = tt.tomtom([query], targets, distance)
    np.testing.assert_allclose(result.p_values[0], brute_force_pvalues(query, targets, distance), rtol=1e-9)


def test_euclidean_tomtom_agrees_with_memelite():
    """memelite's TOMTOM (Euclidean, an independent implementation) ranks and aligns the same way."""
    from memelite import tomtom as memelite_tomtom

    rng = np.random.default_rng(3)
    targets = [random_pwm(rng, int(w), 0.3) for w in rng.integers(6, 16, size=60)]
    queries = []
    for k in range(0, 12, 2):  # noisy inner parts of targets, one reverse-complemented
        inner = targets[k][1:-1] * 0.8 + 0.2 * random_pwm(rng, len(targets[k]) - 2)
        queries.append(inner if k % 4 else inner[::-1, ::-1])
    ours = tt.tomtom(queries, targets, "euclidean")
    p, _, offsets, overlaps, strands = memelite_tomtom([q.T.copy() for q in queries], [t.T.copy() for t in targets],
                                                       n_jobs=1)
    for i in range(len(queries)):
        best = int(np.argmin(p[i]))
        assert int(np.argmin(ours.p_values[i])) == best
        assert (ours.offsets[i, best], ours.overlaps[i, best], ours.strands[i, best]) == (
            offsets[i, best], overlaps[i, best], int(strands[i, best]))
        # memelite approximates medians and bins; the p-values agree closely, not exactly.
        mask = p[i] < 0.5
        assert np.corrcoef(np.log(p[i][mask]), np.log(ours.p_values[i][mask]))[0, 1] > 0.99


def test_pearson_finds_planted_motif_with_offset_and_strand():
    rng = np.random.default_rng(4)
    targets = [random_pwm(rng, int(w), 0.3) for w in rng.integers(8, 18, size=80)]
    planted = targets[17]
    query = planted[2:9][::-1, ::-1]  # reverse complement of columns 2..8
    result = tt.tomtom([query], targets, "pearson", min_overlap=5)
    assert int(np.argmin(result.p_values[0])) == 17
    assert result.strands[0, 17] == 1  # matched the target's reverse complement
    # Query column k aligns with column k + offset of the reverse-complemented target.
    assert result.offsets[0, 17] == len(planted) - 9 and result.overlaps[0, 17] == 7
    assert result.p_values[0, 17] < 1e-4 < np.median(result.p_values[0])
    assert result.e_values.shape == (1, 80)


def test_min_overlap_and_bad_arguments():
    rng = np.random.default_rng(5)
    query, targets = random_pwm(rng, 6), [random_pwm(rng, 8) for _ in range(5)]
    result = tt.tomtom([query], targets, "pearson", min_overlap=4)
    assert (result.overlaps >= 4).all()
    with pytest.raises(ValueError, match="distance"):
        tt.tomtom([query], targets, "kullback")
    with pytest.raises(ValueError, match="min_overlap"):
        tt.tomtom([query], targets, min_overlap=0)
