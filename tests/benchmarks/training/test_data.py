"""Datasets: fixed splits, one-line errors for missing folders, opt-in download from a local server."""
from __future__ import annotations

import functools
import http.server
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.training.data import images  # noqa: E402
from benchmarks.training.data.download import fetch  # noqa: E402
from harness.errors import DataError, UnknownNameError  # noqa: E402


def test_digits_splits_are_fixed_and_disjoint() -> None:
    a, b = images.load("digits", None), images.load("digits", None)
    assert a.sizes() == {"n_train": 997, "n_valid": 400, "n_test": 400}
    assert torch.equal(a.valid.x, b.valid.x) and a.in_channels == 1 and a.image_size == 8
    sub = images.load("digits", None, train_images=300)
    assert len(sub.train) == 300 and torch.equal(sub.test.y, a.test.y)
    flat = {tuple(x.flatten().tolist()) for s in (a.train, a.valid, a.test) for x in s.x}
    assert len(flat) > 1700  # a few digits are pixel-identical duplicates in sklearn's data


def test_errors_name_path_and_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cifar-10-batches-py.*not found; expected the torchvision"):
        images.load("cifar10-valid", tmp_path)
    with pytest.raises(DataError, match="ImageNet16.*train_data_batch_1..10"):
        images.load("ImageNet16-120", tmp_path)
    with pytest.raises(DataError, match="imagenet.*ImageFolder"):
        images.load("imagenet", tmp_path)
    with pytest.raises(UnknownNameError, match="unknown dataset 'mnist'"):
        images.load("mnist", tmp_path)
    with pytest.raises(DataError, match="NAS_HARNESS_DATA"):
        images.load("cifar100", None)


def _fake_cifar10(root: Path, n: int = 8) -> Path:
    """A tarball shaped like cifar-10-python.tar.gz with n images per batch file."""
    folder = root / "src" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, n))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    archive = root / "serve" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return archive


def test_download_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _fake_cifar10(tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/{archive.name}"
    monkeypatch.setitem(images.ARCHIVES, "cifar10", (url, None, "cifar-10-batches-py"))
    data_root = tmp_path / "data"
    try:
        with pytest.raises(DataError, match="not found"):
            images.load("cifar10-valid", data_root)  # no flag: nothing fetched
        assert not data_root.exists()
        data = images.load("cifar10-valid", data_root, download=True)
        assert data.sizes() == {"n_train": 20, "n_valid": 20, "n_test": 8}
        assert data.train.x.dtype == torch.uint8 and data.train.x.shape[1:] == (3, 32, 32)
        with pytest.raises(DataError, match="md5"):
            fetch(url, tmp_path / "other", md5="0" * 32)
        with pytest.raises(DataError, match="failed"):
            fetch(url + ".missing", tmp_path / "other")
    finally:
        server.shutdown()


def test_imagenet16_pickles(tmp_path: Path) -> None:
    folder = tmp_path / "ImageNet16"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [("train_data_batch_1", 40), ("train_data_batch_2", 40), ("val_data", 20)]:
        labels = list(rng.integers(1, 131, n))  # 1-based; classes above 120 are dropped
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 256, (n, 768), dtype=np.uint8), "labels": labels}, f)
    data = images.load("ImageNet16-120", tmp_path)
    assert data.train.x.shape[1:] == (3, 16, 16) and int(data.train.y.max()) < 120
    assert abs(len(data.valid) - len(data.test)) <= 1 and 0 < len(data.valid) + len(data.test) <= 20
    assert data.num_classes == 120 and data.name == "ImageNet16-120"


def test_imagenet_folders(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            folder = tmp_path / "imagenet" / split / cls
            folder.mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    data = images.imagenet(tmp_path, side=8)
    assert data.sizes() == {"n_train": 4, "n_valid": 2, "n_test": 2}
    assert data.train.x.shape[1:] == (3, 8, 8) and data.num_classes == 2
