"""The recurrent cell space (EDNAS on PTB) and the PTB corpus reader / downloader (numpy only)."""
from __future__ import annotations

import functools
import http.server
import threading

import numpy as np
import pytest

from benchmarks.training.data import text
from benchmarks.spaces.rnn import EDNAS_PTB, N_CELLS, RNNSpace
from harness.errors import ArchError, DataError

SPACE = RNNSpace()


def test_seed_genotype_round_trips_and_index_is_a_bijection_on_samples():
    codes = SPACE.parse(EDNAS_PTB)
    assert SPACE.genotype(codes)["recurrent"][7] == ["tanh", 7] and list(codes[:2]) == [3, 0]
    assert SPACE.parse(SPACE.format(codes)[0]).tolist() == codes.tolist()
    assert N_CELLS == 4**8 * 40320
    sample = SPACE.sample(np.random.default_rng(0), 500)
    SPACE.check(sample)
    idx = SPACE.index(sample)
    assert ((idx >= 0) & (idx < N_CELLS)).all() and np.array_equal(SPACE.from_index(idx), sample)
    assert SPACE.index(SPACE.from_index([0, N_CELLS - 1])).tolist() == [0, N_CELLS - 1]


def test_mutation_changes_one_gene_and_stays_valid():
    rng = np.random.default_rng(1)
    for c in SPACE.sample(rng, 200):
        child = SPACE.mutate(c, rng)
        SPACE.check(child)
        assert (child != c).sum() == 1


@pytest.mark.parametrize("text,message", [
    ("{", "malformed RNN genotype JSON"),
    ('{"recurrent": [["tanh", 0]]}', "needs 8 [act, src] pairs"),
    (EDNAS_PTB.replace('"identity", 0', '"softplus", 0'), "unknown activation 'softplus'"),
    (EDNAS_PTB.replace('"tanh", 1]', '"tanh", 2]', 1), "node 2: src must lie in 0..1, got 2"),
    (EDNAS_PTB.replace("[1, 2, 3", "[0, 2, 3"), "concat must be"),
])
def test_bad_genotypes_fail_in_one_line(text, message):
    with pytest.raises(ArchError, match=message.replace("[", r"\[")) as exc:
        SPACE.parse(text)
    assert "\n" not in str(exc.value)


def test_bad_codes_fail_in_one_line():
    c = SPACE.parse(EDNAS_PTB)
    bad = c.copy()
    bad[1] = 1  # node 1 may only read node 0
    with pytest.raises(ArchError, match="src codes out of range"):
        SPACE.check(bad)
    bad = c.copy()
    bad[0] = 4
    with pytest.raises(ArchError, match="activation codes must lie in 0..3"):
        SPACE.check(bad)


LINES = {"train": "the cat sat\nthe dog sat on the mat\n", "valid": "the cat ran\n", "test": "a dog sat\n"}


def _write(folder, texts=LINES):
    folder.mkdir(parents=True, exist_ok=True)
    for split, body in texts.items():
        (folder / f"ptb.{split}.txt").write_text(body)


def test_reader_builds_the_vocabulary_from_train_only(tmp_path):
    _write(tmp_path / "ptb")
    c = text.load("ptb", tmp_path)
    assert c.vocab[:3] == ("the", "cat", "sat") and "<eos>" in c.vocab and c.vocab[-1] == "<unk>"
    assert "ran" not in c.vocab and "a" not in c.vocab  # never seen in train: <unk>
    unk = c.vocab.index("<unk>")
    assert [c.vocab[i] for i in c.valid] == ["the", "cat", "<unk>", "<eos>"]
    assert c.test[0] == unk and len(c.train) == 3 + 1 + 6 + 1


def test_downloader_fetches_from_a_local_server_and_missing_files_fail_in_one_line(tmp_path):
    served = tmp_path / "served"
    _write(served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        root = tmp_path / "data"
        with pytest.raises(DataError, match="ptb.train.txt not found") as exc:
            text.ptb(root, download=False, url=url)
        assert "\n" not in str(exc.value)
        c = text.ptb(root, download=True, url=url, timeout_s=10)
        assert (root / "ptb" / "ptb.test.txt").read_text() == LINES["test"] and len(c.train) == 11
        assert not text.checksums(root)["train"]  # not the published file
        (served / "ptb.valid.txt").unlink()
        (root / "ptb" / "ptb.valid.txt").unlink()
        with pytest.raises(DataError, match="download of .*ptb.valid.txt failed"):
            text.ptb(root, download=True, url=url, timeout_s=10)
    finally:
        server.shutdown()
        server.server_close()


def test_synthetic_text_is_learnable_but_not_by_unigrams():
    c = text.synthetic()
    assert (len(c.train), len(c.valid), len(c.test), c.n_tokens) == (4000, 800, 800, 24)
    uni = text.unigram_perplexity(c.train, c.valid, c.n_tokens)
    # a bigram table from train beats the unigram bar by far: there is something to learn
    counts = np.ones((24, 24))
    np.add.at(counts, (c.train[:-1], c.train[1:]), 1)
    p = counts / counts.sum(1, keepdims=True)
    bigram = float(np.exp(-np.log(p[c.valid[:-1], c.valid[1:]]).mean()))
    assert uni > 12 and bigram < 5
