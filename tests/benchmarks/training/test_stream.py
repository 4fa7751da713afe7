"""The streamed ImageFolder pipeline: generated JPEGs (one of them corrupt) read by DataLoader workers;
stop or skip at the corrupt file; worker count does not change a result; one process and two "nodes"
(2 x 1 gloo process, torchrun c10d rendezvous on 127.0.0.1) agree, and global rank 0 alone writes."""
from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from tests.torchrun import torchrun_nodes

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
Image = pytest.importorskip("PIL.Image")

from benchmarks.spaces.darts import DARTS_V2, DartsSpace  # noqa: E402
from benchmarks.training.data import folders, images  # noqa: E402
from benchmarks.training.recipe import preset  # noqa: E402
from benchmarks.training.trainer import Trainer  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.errors import DataError  # noqa: E402
CORRUPT = "train/c1/corrupt.JPEG"


def image_folder(root: Path, per_class: int = 16, classes: int = 2, side: int = 40) -> Path:
    """``root/imagenet/{train,val}/c<k>/*.JPEG``: class-coloured noise, plus one corrupt JPEG in train."""
    rng = np.random.default_rng(0)
    for split, n in (("train", per_class), ("val", max(2, per_class // 4))):
        for c in range(classes):
            folder = root / "imagenet" / split / f"c{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                base = np.zeros((side, side + 8, 3)) + 60 + 120 * (np.arange(3) == c % 3)
                pixels = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:03d}.JPEG", quality=90)
    good = (root / "imagenet" / "train" / "c0" / "000.JPEG").read_bytes()
    (root / "imagenet" / CORRUPT).write_bytes(good[: len(good) // 3])  # a JPEG cut short
    return root


def _fit(data, epochs: int = 1) -> list[float]:
    recipe = preset("imagenet-250", epochs=2, batch_size=8, eval_batch_size=16)
    codes = DartsSpace().parse(DARTS_V2)

    def build():
        from benchmarks.training.nets.darts import DartsNet

        return DartsNet(codes, 4, 2, data.num_classes, 3, True, True)

    return Trainer(data, recipe, 0, device="cpu").fit(build, epochs).step_loss.tolist()


def test_layout_split_and_pipeline(tmp_path: Path) -> None:
    image_folder(tmp_path, per_class=4)
    data = images.load("imagenet", tmp_path, image_size=24, workers=0)
    assert data.sizes() == {"n_train": 9, "n_valid": 2, "n_test": 2} and data.num_classes == 2
    assert "RandomResizedCrop(24)" in data.pipeline() and "CenterCrop(24)" in data.pipeline()
    assert folders.eval_resize(224) == 256
    sub = images.load("imagenet", tmp_path, train_images=5, workers=0)
    assert len(sub.train) == 5 and sub.image_size == 224
    with pytest.raises(DataError, match="ImageFolder directories train/<class>"):
        images.load("imagenet", tmp_path / "nowhere")
    with pytest.raises(DataError, match="image_size >= 8 and workers >= 0, got 4 and 0"):
        images.load("imagenet", tmp_path, image_size=4, workers=0)
    from harness.registry import BENCHMARKS

    task = BENCHMARKS.get("darts-train")("imagenet", data=tmp_path, image_size=24, workers=0, compile=True,
                                         device="cpu")
    ident, attrs = task.identity(DartsSpace().parse(DARTS_V2), 1), task.attrs()
    for d in (ident, attrs):  # what can change a result is part of its identity; the worker count is not
        assert d["pipeline"] == data.pipeline() and d["compile"] is True and "precision" not in d
    plain = BENCHMARKS.get("darts-train")("digits", device="cpu")
    assert not {"pipeline", "compile", "precision"} & set(plain.identity(DartsSpace().parse(DARTS_V2), 1))


def test_corrupt_jpeg_stops_or_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    image_folder(tmp_path, per_class=4)
    stop = images.load("imagenet", tmp_path, image_size=16, workers=0)
    with pytest.raises(DataError, match=r"unreadable image .*corrupt\.JPEG: .*bad_images=skip") as err:
        _fit(stop)
    assert "\n" not in str(err.value)
    skip = images.load("imagenet", tmp_path, image_size=16, workers=0, bad_images="skip")
    with caplog.at_level(logging.WARNING, logger="benchmarks.training.stream"):
        losses = _fit(skip)
    warned = [r.getMessage() for r in caplog.records if "corrupt.JPEG" in r.getMessage()]
    assert len(warned) == 1 and "replaced by the next readable one" in warned[0]
    assert len(losses) == 1 and np.isfinite(losses).all()


def test_result_does_not_depend_on_worker_count(tmp_path: Path) -> None:
    image_folder(tmp_path, per_class=8)
    kw = dict(image_size=16, bad_images="skip")
    in_process = _fit(images.load("imagenet", tmp_path, workers=0, **kw))
    one_worker = _fit(images.load("imagenet", tmp_path, workers=1, **kw))
    assert in_process == one_worker  # augmentation seeded per (train seed, epoch, image)



def test_a_daemonic_process_decodes_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing
    import types

    from benchmarks.training import stream

    image_folder(tmp_path, per_class=4)
    data = images.load("imagenet", tmp_path, image_size=16, workers=2)
    assert stream.loader(data, data.valid, [[(None, 0)]], False, False).num_workers == 2
    # a worker of compare's process pool may not start processes: the same batches, decoded in place
    monkeypatch.setattr(multiprocessing, "current_process", lambda: types.SimpleNamespace(daemon=True))
    assert stream.loader(data, data.valid, [[(None, 0)]], False, False).num_workers == 0


def _train(cwd: Path, data: Path, accum: int, nodes: int = 1) -> tuple[dict | None, str]:
    """3-epoch schedule stopped after 2 (so a checkpoint stays); relative --out / --checkpoint land in the
    folder of the process that writes them."""
    args = ["-m", "harness", "train", "--space", "darts", "--arch", DARTS_V2, "--dataset", "imagenet",
            "--data", str(data), "--C", "4", "--depth", "2", "--image-size", "16", "--workers", "1",
            "--bad-images", "skip", "--set", "epochs=3", "--epochs", "2", "--set", "batch_size=8",
            "--accum", str(accum), "--threads", "1", "--device", "cpu", "--out", "result.json",
            "--checkpoint", "run.pt"]
    if nodes > 1:
        cwds = [cwd / f"node{k}" for k in range(nodes)]
        for c in cwds:
            c.mkdir(parents=True)
        procs = torchrun_nodes(args, cwds)
        return None, "".join(p.stderr for p in procs)
    cwd.mkdir(parents=True)  # one process: in this one (the CLI as a function), saving an interpreter start
    with contextlib.chdir(cwd), contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(args[2:]) == 0
    return json.loads((cwd / "result.json").read_text()), err.getvalue()


def test_streamed_darts_on_two_nodes_matches_one_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # two torchrun launches of one gloo process each ("nodes" on 127.0.0.1, c10d rendezvous) train the
    # same chunks as one process with accum=2; only global rank 0 writes the result and the checkpoint
    data = image_folder(tmp_path / "data", per_class=8)
    with caplog.at_level(logging.WARNING, logger="benchmarks.training.stream"):
        one, log1 = _train(tmp_path / "one", data, accum=2)
    _, _ = _train(tmp_path / "two", data, accum=1, nodes=2)
    written = [sorted(p.name for p in (tmp_path / "two" / f"node{k}").iterdir()) for k in (0, 1)]
    assert sorted(written) == [[], ["result.json", "run.pt"]]  # one node's rank 0 wrote both, the other nothing
    two = json.loads(next((tmp_path / "two").glob("node*/result.json")).read_text())
    assert two["world"] == 2 and len(one["step_loss"]) == len(two["step_loss"]) == 4
    assert two["step_loss"] == pytest.approx(one["step_loss"], rel=1e-4, abs=1e-5)
    epochs = [ln for ln in log1.splitlines() if ln.startswith("train epoch")]
    assert len(epochs) == 2 and all(k in epochs[0] for k in ("loss", "train acc", "images/s", "data wait", "ETA"))
    assert sum("corrupt.JPEG" in r.getMessage() for r in caplog.records) == 1  # warned once, training went on
    assert 0 <= one["data_wait"] < 1 and one["images_per_s"] > 0


def test_chunk_sampler_cuts_the_in_memory_batches() -> None:
    # the ranks' shards of a step are contiguous chunks of the global batch of the permutation the
    # in-memory trainer draws for (seed, epoch), whatever the process count
    from benchmarks.training.stream import ChunkSampler
    from harness.distributed import Dist
    from harness.seeding import torch_seed

    n, batch, seed, epoch = 37, 8, 3, 2
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(torch_seed(seed, "epoch", str(epoch))))
    for world, accum in ((1, 1), (1, 4), (2, 2), (4, 1)):
        shards = []
        for rank in range(world):
            sampler = ChunkSampler(n, batch, Dist(rank, world, rank), accum, seed)
            sampler.set_epoch(epoch)
            shards.append([[i for _, i in step] for step in sampler])
            assert len(sampler) == n // batch and isinstance(sampler, torch.utils.data.DistributedSampler)
        for step in range(n // batch):
            assert sum((s[step] for s in shards), []) == perm[step * batch:(step + 1) * batch].tolist()
    keyed = list(ChunkSampler(n, batch, Dist(), 1, seed))[0]
    assert len({k for k, _ in keyed}) == batch  # one augmentation seed per image
    with pytest.raises(DataError, match="divisible by processes x micro-batches = 3"):
        ChunkSampler(n, batch, Dist(0, 3, 0), 1, seed)
