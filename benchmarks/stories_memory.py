"""Memory of finding copies at archive scale: every candidate pair in a set, or buckets settled.

Builds N synthetic articles (default 20,000): copies of stories with edits, and
unrelated texts; most pages carry the same boilerplate (site chrome), which makes
LSH buckets of hundreds of texts that are not copies of one another. Then, as
`digest.stories.arrange` does, checks them against the sketches of sent
articles and groups the rest into copies, two ways:

- old: the code before issue 14 (kept below): every candidate pair of every
  band in one Python set, then the Jaccard of each;
- new: `digest.stories` (`against_sent`, `copies`): each bucket checked from
  the sketches and joined in a union-find as it comes.

Each runs in a fresh process, on sketches computed once: its peak RSS above the
process's start, the tracemalloc peak of a second pass, and the time of the
first. The two must give identical answers.

Example: .venv/bin/python benchmarks/stories_memory.py --articles 20000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from digest import stories
from digest.stories.sketches import PERMUTATIONS, Sketch, Status

VOCABULARY = [f"w{k}" for k in range(40_000)]


# --- the old way, as it was: every candidate pair in a set ---------------------------------


def old_similar_pairs(sketches: Sequence[Sketch]) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) of every pair agreeing on some band (before issue 14)."""
    sigs = _matrix(sketches)
    keep = np.array([p.size > 0 for p in sketches], dtype=bool)
    bands = _bands(sigs)
    found: set[tuple[int, int]] = set()
    for band in bands.T:
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], ordered.size]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            members = sorted(int(i) for i in order[start:end] if keep[i])
            found.update((a, b) for k, a in enumerate(members) for b in members[k + 1 :])
    if not found:
        return []
    pairs = np.array(sorted(found), dtype=np.int64)
    jaccards = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).mean(axis=1)
    return [(int(i), int(j), float(s)) for (i, j), s in zip(pairs, jaccards, strict=True)]


def old_copies(sketches: Sequence[Sketch]) -> list[int]:
    parent = list(range(len(sketches)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, jaccard in old_similar_pairs(sketches):
        if stories.same_text(jaccard, sketches[i].size, sketches[j].size):
            a, b = find(i), find(j)
            parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(len(sketches))]


def old_against_sent(sketches: Sequence[Sketch], sent: Sequence[Sketch]) -> list[Status]:
    status: list[Status] = ["new"] * len(sketches)
    if not sent:
        return status
    new_sigs, old_sigs = _matrix(sketches), _matrix(sent)
    new_bands, old_bands = _bands(new_sigs), _bands(old_sigs)
    old_used = np.array([p.size > 0 for p in sent], dtype=bool)
    found: set[tuple[int, int]] = set()
    for b in range(new_bands.shape[1]):
        index: dict[int, list[int]] = {}
        for i, value in enumerate(new_bands[:, b].tolist()):
            if sketches[i].size > 0:
                index.setdefault(value, []).append(i)
        column = old_bands[:, b]
        hits = np.flatnonzero(np.isin(column, np.fromiter(index, np.uint64)) & old_used)
        for j in hits.tolist():
            found.update((i, j) for i in index[int(column[j])])
    if not found:
        return status
    pairs = np.array(sorted(found), dtype=np.int64)
    jaccards = (new_sigs[pairs[:, 0]] == old_sigs[pairs[:, 1]]).mean(axis=1)
    for (i, j), jaccard in zip(pairs.tolist(), jaccards.tolist(), strict=True):
        new, old = sketches[i], sent[j]
        if not stories.same_text(jaccard, new.size, old.size):
            continue
        novel = 1 - stories.shares(jaccard, old.size, new.size)[1]
        if novel < stories.UPDATE_SHARE:
            status[i] = "repeat"
        elif status[i] == "new":
            status[i] = "updated"
    return status


def _matrix(sketches: Sequence[Sketch]) -> npt.NDArray[np.uint32]:
    if not sketches:
        return np.zeros((0, PERMUTATIONS), dtype=np.uint32)
    return np.stack([np.frombuffer(p.values, dtype="<u4") for p in sketches]).astype(np.uint32)


def _bands(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    return (sigs[:, 0::2].astype(np.uint64) << np.uint64(32)) | sigs[:, 1::2].astype(np.uint64)


# --- the corpus -------------------------------------------------------------------------------


def corpus(n: int, boilerplate_words: int, seed: int = 14) -> list[str]:
    """Copies of stories with some words changed and a part cut, and unrelated texts;
    70% of pages end with the same boilerplate."""
    rng = random.Random(seed)
    boilerplate = rng.choices(VOCABULARY, k=boilerplate_words)
    bases = [rng.choices(VOCABULARY, k=rng.randint(150, 400)) for _ in range(n // 4)]
    texts = []
    for _ in range(n):
        if rng.random() < 0.5:
            body = [rng.choice(VOCABULARY) if rng.random() < 0.05 else w for w in rng.choice(bases)]
            body = body[: int(len(body) * rng.uniform(0.6, 1.0))]
        else:
            body = rng.choices(VOCABULARY, k=rng.randint(150, 400))
        if rng.random() < 0.7:
            body += boilerplate
        texts.append(" ".join(body))
    return texts


# --- one measurement per fresh process --------------------------------------------------------


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def plan(way: str, sketches: list[Sketch], sent: list[Sketch]) -> tuple[list[str], list[int]]:
    """What arrange() computes from sketches: the status of each text, then its copy group."""
    against, group = (
        (old_against_sent, old_copies) if way == "old" else (stories.against_sent, stories.copies)
    )
    status = against(sketches, sent)
    kept = [s for s, st in zip(sketches, status, strict=True) if st != "repeat"]
    return list(status), group(kept)


def child(way: str, data: Path, out: Path) -> None:
    raw = np.load(data)
    sizes, values, n_sent = raw["sizes"].tolist(), raw["values"], int(raw["sent"])
    every = [Sketch(values[k].tobytes(), sizes[k]) for k in range(len(sizes))]
    sent, sketches = every[:n_sent], every[n_sent:]
    before = rss_mb()
    start = time.perf_counter()
    status, groups = plan(way, sketches, sent)
    seconds = time.perf_counter() - start
    rss = rss_mb() - before
    tracemalloc.start()
    plan(way, sketches, sent)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    result = {"seconds": seconds, "rss_mb": rss, "peak_rss_mb": rss_mb(), "traced_mb": traced}
    out.write_text(json.dumps({**result, "status": status, "groups": groups}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--sent", type=int, default=5_000, help="sketches of sent articles")
    parser.add_argument("--boilerplate", type=int, default=50, help="words every page shares")
    parser.add_argument("--child", nargs=3, metavar=("WAY", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    start = time.perf_counter()
    every = [stories.sketch(t) for t in corpus(args.articles + args.sent, args.boilerplate)]
    print(f"{len(every)} sketches in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sketches.npz"
        values = np.stack([np.frombuffer(s.values, dtype="<u4") for s in every])
        np.savez(data, values=values, sizes=np.array([s.size for s in every]), sent=args.sent)
        found = {}
        for way in ("old", "new"):
            out = Path(tmp) / f"{way}.json"
            command = [sys.executable, __file__, "--child", way, str(data), str(out)]
            subprocess.run(command, check=True)
            found[way] = json.loads(out.read_text())
    print(
        f"{args.articles} articles against {args.sent} sent, boilerplate {args.boilerplate} words"
    )
    for way, r in found.items():
        print(
            f"  {way}: {r['seconds']:.1f} s, peak RSS +{r['rss_mb']:.0f} MB"
            f" (process {r['peak_rss_mb']:.0f} MB), tracemalloc peak {r['traced_mb']:.0f} MB"
        )
    same = all(found["old"][k] == found["new"][k] for k in ("status", "groups"))
    groups = found["new"]["groups"]
    print(f"  identical answers: {same}; {len(set(groups))} groups of {len(groups)} kept texts")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
