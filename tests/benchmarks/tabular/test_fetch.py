"""`data fetch / verify` against a local HTTP server on 127.0.0.1 serving copies of the real files
(made here in tmp_path, laid out like raw.githubusercontent.com), plus corrupt and cut-off ones."""
from __future__ import annotations

import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from benchmarks.tabular.data_manifest import RAW_BASE, dataset
from benchmarks.tabular.download import partial_path
from harness.cli import main


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET with ``Range`` support; ``server.cut`` maps a URL path to a byte count after which the
    connection is dropped (once), ``server.log`` records (path, Range header)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.log.append((self.path, self.headers.get("Range")))
        file = self.server.root / self.path.lstrip("/")
        if not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.server.cut.pop(self.path, None)
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def serve():
    """serve(root) -> (base URL, server): one server per test, stopped after it."""
    servers = []

    def start(root: Path):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.root, srv.log, srv.cut = root, [], {}
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}", srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _mirror(name: str, data: Path, root: Path) -> Path:
    """Copies of the real files, at the URL paths of the manifest."""
    for f in dataset(name).files:
        target = root / f.url.removeprefix(RAW_BASE + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / f.path, target)
    return root


def _url_path(name: str, index: int) -> str:
    return dataset(name).files[index].url.removeprefix(RAW_BASE)


def test_fetch_nb201_gives_the_same_table_as_the_exports(tmp_path, serve, nb201_exports, nb201_table_path,
                                                        capsys):
    pytest.importorskip("pandas", reason="converting the BayesWatch .pd files needs pandas (the data extra)")
    from benchmarks.tabular.nb201_table import open_table

    base, srv = serve(_mirror("nb201", nb201_exports, tmp_path / "mirror"))
    dest = tmp_path / "data"
    assert main(["data", "fetch", "nb201", "--dest", str(dest), "--mirror", base]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(dest) and "export NAS_HARNESS_DATA=" in err and "[36/36] downloading" in err
    for d in dataset("nb201").derived:  # rebuilt here from the originals, byte for byte
        assert (dest / d.path).read_bytes() == (nb201_exports / d.path).read_bytes()
    ours, ref = open_table(dest / "nb201.h5"), open_table(nb201_table_path)
    assert ours.data_sha256 == ref.data_sha256
    assert (ours.metrics[~(ours.metrics != ours.metrics)] == ref.metrics[~(ref.metrics != ref.metrics)]).all()
    assert main(["data", "verify", str(dest)]) == 0
    n = len(srv.log)
    assert main(["data", "fetch", "nb201", "--dest", str(dest), "--mirror", base, "-q"]) == 0
    assert len(srv.log) == n  # everything present and verified: nothing downloaded again
    assert not list(dest.rglob("*.download")) and not list(dest.rglob("*.part"))


def test_a_corrupt_download_is_one_line_exit_2_and_leaves_nothing(tmp_path, serve, nats_samples, capsys):
    mirror = _mirror("nats-samples", nats_samples, tmp_path / "mirror")
    victim = dataset("nats-samples").files[5]
    bad = mirror / victim.url.removeprefix(RAW_BASE + "/")
    raw = bytearray(bad.read_bytes())
    raw[1000] ^= 0xFF
    bad.write_bytes(bytes(raw))
    base, _ = serve(mirror)
    dest = tmp_path / "data"
    assert main(["data", "fetch", "nats-samples", "--dest", str(dest), "--mirror", base, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is corrupt" in err[0] and victim.path in err[0] and "nothing was written" in err[0]
    assert not (dest / victim.path).exists() and not partial_path(dest / victim.path).exists()
    # the files before it are whole and verified; the ones after it were never started
    files = dataset("nats-samples").files
    assert all((dest / f.path).is_file() for f in files[:5]) and not any((dest / f.path).exists() for f in files[6:])
    assert main(["data", "verify", str(dest), "--name", "nats-samples"]) == 2
    assert "data fetch nats-samples" in capsys.readouterr().err


def test_a_cut_download_resumes_with_a_range_request(tmp_path, serve, nats_samples, capsys):
    base, srv = serve(_mirror("nats-samples", nats_samples, tmp_path / "mirror"))
    path = _url_path("nats-samples", 2)
    srv.cut[path] = 20_000
    dest = tmp_path / "data"
    assert main(["data", "fetch", "nats-samples", "--dest", str(dest), "--mirror", base, "-q"]) == 2
    assert "interrupted after 20000" in capsys.readouterr().err
    f = dataset("nats-samples").files[2]
    assert partial_path(dest / f.path).stat().st_size == 20_000 and not (dest / f.path).exists()
    assert main(["data", "fetch", "nats-samples", "--dest", str(dest), "--mirror", base, "-q"]) == 0
    assert (path, "bytes=20000-") in srv.log
    assert (dest / f.path).read_bytes() == (nats_samples / f.path).read_bytes()
    assert main(["data", "verify", str(dest), "--name", "nats-samples"]) == 0


def test_a_wrong_file_in_the_folder_is_kept_aside_and_fetched_again(tmp_path, serve, nats_samples, caplog):
    base, _ = serve(_mirror("nats-samples", nats_samples, tmp_path / "mirror"))
    dest = tmp_path / "data"
    f = dataset("nats-samples").files[0]
    (dest / f.path).parent.mkdir(parents=True)
    (dest / f.path).write_bytes(b"user's own bytes")
    assert main(["data", "fetch", "nats-samples", "--dest", str(dest), "--mirror", base, "-q"]) == 0
    assert (dest / (f.path + ".corrupt")).read_bytes() == b"user's own bytes"
    assert (dest / f.path).read_bytes() == (nats_samples / f.path).read_bytes()


def test_unreachable_server_and_missing_data_name_the_fix(tmp_path, capsys, monkeypatch):
    assert main(["data", "fetch", "nats-samples", "--dest", str(tmp_path / "d"), "--mirror", "http://127.0.0.1:9",
                 "-q"]) == 2
    assert "download of http://127.0.0.1:9/D-X-Y/NATS-Bench/" in capsys.readouterr().err
    monkeypatch.delenv("NAS_HARNESS_DATA", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods", "random_search",
            "--seeds", "0", "--budget-seconds", "1000", "--out", str(tmp_path / "runs"),
            "--cache", str(tmp_path / "cache")]
    for data in ([], ["--data", str(empty)], ["--data", str(tmp_path / "nope")]):
        assert main(args + data) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "python -m harness data fetch nb201" in err[0], err
    assert os.listdir(empty) == []
