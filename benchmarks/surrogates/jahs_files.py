"""JAHS-Bench-201's released surrogates read with today's libraries, without jahs_bench, sklearn or ConfigSpace.

Layout (``assembled_surrogates/<task>/<metric>/``, one folder per metric: ``valid-acc``, ``test-acc``,
``runtime``, ...): ``params.pkl.gz`` (joblib: the feature and label headers, ConfigSpace's space),
``model.pkl.gz`` (joblib: a fitted sklearn Pipeline: a ColumnTransformer one-hot encoding the
categorical columns with ``drop="if_binary"`` and passing the rest through, then an XGBRegressor,
possibly inside TransformedTargetRegressors) and ``label_headers.pkl.gz`` (pandas). Each is a
pickle, which can run code: the unpickler here builds nothing but numpy arrays and builtins;
every other object becomes an inert record of its class name and state, and the pipeline is
evaluated from those records (one-hot encoding, the booster rebuilt from its serialised model and
walked as arrays by benchmarks/surrogates/forest.py, inverse target transforms), so a file from
sklearn 1.0 reads the same under any sklearn, or none.
"""
from __future__ import annotations

import _compat_pickle
import gzip
import hashlib
import io
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DataError

_REAL = {("builtins", n) for n in ("set", "frozenset", "list", "dict", "tuple", "int", "float", "complex", "bool",
                                   "str", "bytes", "bytearray", "slice", "object")}
_REAL |= {("copyreg", "_reconstructor"), ("_codecs", "encode"), ("joblib.numpy_pickle", "NumpyArrayWrapper"),
          ("numpy", "dtype"), ("numpy", "ndarray")}
_REAL |= {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")}
_REAL |= {(m, n) for m in ("numpy.core.numeric", "numpy._core.numeric") for n in ("_frombuffer",)}


class Record:
    """An object of a class the unpickler does not build: its dotted name, call arguments and state."""

    qualname = "?"
    args: tuple[Any, ...] = ()
    state: dict[str, Any] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> "Record":
        obj = object.__new__(cls)
        obj.args = args
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.state = state if isinstance(state, dict) else {"_state": state}

    @property
    def kind(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<record {self.qualname}>"


def _unpickler_class() -> type:
    try:
        from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler
    except ImportError:
        raise DataError("JAHS-Bench-201 surrogates need joblib: pip install -e '.[surrogate]'") from None

    class _Unpickler(NumpyUnpickler):
        records: dict[str, type]

        def load_build(self) -> None:
            """joblib's array payloads; an object array's nested pickle goes through this find_class too
            (whatever joblib's version does with it)."""
            pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
            top = self.stack[-1]
            if not isinstance(top, NumpyArrayWrapper):
                return
            self.stack.pop()
            if top.dtype.hasobject:
                inner = pickle._Unpickler(self.file_handle)  # type: ignore[attr-defined]
                inner.find_class = self.find_class
                self.stack.append(inner.load())
            else:
                try:
                    self.stack.append(top.read(self, self.ensure_native_byte_order))
                except TypeError:  # joblib < 1.5: read(unpickler)
                    self.stack.append(top.read(self))

        dispatch = NumpyUnpickler.dispatch.copy()
        dispatch[pickle.BUILD[0]] = load_build

        def record_class(self, qualname: str) -> type:
            if qualname not in self.records:
                self.records[qualname] = type(qualname.rsplit(".", 1)[-1], (Record,), {"qualname": qualname})
            return self.records[qualname]

        def getattr(self, obj: Any, name: str) -> Any:
            """Protocol < 4 pickles a nested name (``Class.method``) as ``getattr(Class, name)``: only on records."""
            if isinstance(obj, type) and issubclass(obj, Record):
                return self.record_class(f"{obj.qualname}.{name}")
            raise pickle.UnpicklingError(f"refused getattr on {type(obj).__name__}")

        def find_class(self, module: str, name: str) -> Any:
            if self.proto < 3:  # protocol 0-2 names (copy_reg, __builtin__) as the stdlib maps them
                module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
                module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            if (module, name) in _REAL:
                return super().find_class(module, name)
            if (module, name) == ("builtins", "getattr"):
                return self.getattr
            if module == "builtins" or module.startswith(("os", "sys", "subprocess", "posix", "nt")):
                raise pickle.UnpicklingError(f"refused {module}.{name}")
            return self.record_class(f"{module}.{name}")

    return _Unpickler


def load_pickle(path: Path) -> Any:
    """A joblib (or plain) pickle, gzip'd or not, read without building foreign classes; one line if unreadable."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        unpickler = _unpickler_class()(str(path), io.BytesIO(raw), ensure_native_byte_order=True)
        unpickler.records = {}
        return unpickler.load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError,
            IndexError, KeyError) as exc:
        raise DataError(f"{path}: cannot read this JAHS-Bench-201 file ({type(exc).__name__}: {exc})") from None


def _names(obj: Any) -> list[str] | None:
    """Column names from an ndarray / list or a pickled pandas Index record."""
    if obj is None:
        return None
    if isinstance(obj, Record):
        for a in obj.args:
            if isinstance(a, dict) and "data" in a:
                return _names(a["data"])
        return _names(obj.state.get("_data", obj.state.get("data")))
    return [str(x) for x in np.asarray(obj, dtype=object).ravel().tolist()]


class _Fail(DataError):
    pass


def _need(rec: Any, kind: str, where: str) -> Record:
    if not isinstance(rec, Record) or rec.kind != kind:
        raise _Fail(f"{where}: expected a {kind}, found {rec!r}")
    return rec


class _Encoder:
    """The fitted ColumnTransformer: one-hot of the categorical columns (then the passthrough ones)."""

    def __init__(self, rec: Record, fallback_names: list[str] | None, where: str) -> None:
        _need(rec, "ColumnTransformer", where)
        names = _names(rec.state.get("feature_names_in_")) or fallback_names
        if not names:
            raise _Fail(f"{where}: the pipeline does not name its input columns")
        self.names = names
        self.blocks: list[tuple[str, int, Any]] = []  # (column, kind: 0 passthrough / 1 one-hot, categories kept)
        for name, trans, cols in rec.state.get("transformers_", []):
            cols = [names[c] if isinstance(c, (int, np.integer)) else str(c) for c in np.atleast_1d(cols).tolist()] \
                if not isinstance(cols, slice) else names[cols]
            if trans == "drop" or not cols:
                continue
            if trans == "passthrough" or (isinstance(trans, Record) and trans.kind == "FunctionTransformer"
                                          and trans.state.get("func") is None):
                self.blocks += [(c, 0, None) for c in cols]
                continue
            enc = _need(trans, "OneHotEncoder", where)
            drops = enc.state.get("drop_idx_")
            for k, (c, cats) in enumerate(zip(cols, enc.state["categories_"])):
                keep = list(np.asarray(cats, dtype=object).tolist())
                d = None if drops is None else np.asarray(drops, dtype=object).tolist()[k]
                dropped = [] if d is None else [keep.pop(int(d))]
                self.blocks.append((c, 1, (keep, dropped)))
        missing = [c for c, _, _ in self.blocks if c not in names]
        if missing:
            raise _Fail(f"{where}: column {missing[0]!r} not among the inputs {names}")

    def encode(self, rows: list[dict[str, Any]]) -> np.ndarray:
        cols = []
        for c, onehot, cats in self.blocks:
            values = [r[c] for r in rows]
            if not onehot:
                cols.append(np.asarray(values, np.float64)[:, None])
                continue
            keep, dropped = cats
            block = np.zeros((len(rows), len(keep)))
            for i, v in enumerate(values):
                hit = [j for j, k in enumerate(keep) if _same(k, v)]
                if hit:
                    block[i, hit[0]] = 1.0
                elif not any(_same(k, v) for k in dropped):
                    raise DataError(f"JAHS model: {c}={v!r} is not among its categories {keep + dropped}")
            cols.append(block)
        return np.hstack(cols) if cols else np.zeros((len(rows), 0))


def _same(category: Any, value: Any) -> bool:
    return bool(category == value) or str(category) == str(value)


def _sigmoid(x: np.ndarray, k: float = 1.0) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-k * x))


def _inverse_sigmoid(x: np.ndarray, k: float = 1.0) -> np.ndarray:
    return (np.log(x) - np.log1p(-x)) / k


_FUNCS = {"sigmoid": _sigmoid, "inverse_sigmoid": _inverse_sigmoid}


def _booster(rec: Any, where: str) -> Any:
    """XGBoost's Booster from its pickled state (the serialised model in ``handle``), rebuilt the way its
    own ``__setstate__`` does, once the unpickler is done (so no XGBoost code runs inside a pickle)."""
    from benchmarks.surrogates.libs import xgboost

    xgb = xgboost()
    try:
        if isinstance(rec, (bytes, bytearray)):  # an older sklearn wrapper pickled the raw model
            booster = xgb.Booster()
            booster.load_model(bytearray(rec))
            return booster
        if not isinstance(rec, Record) or rec.kind != "Booster" or not rec.state.get("handle"):
            raise _Fail(f"{where}: the XGBRegressor holds no booster (found {rec!r})")
        booster = xgb.Booster.__new__(xgb.Booster)
        booster.__setstate__({**rec.state, "handle": bytearray(rec.state["handle"])})
        return booster
    except xgb.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{where}: this xgboost ({xgb.__version__}) cannot read the pickled booster ({first}); "
                        "re-save it with the xgboost that wrote it as UBJSON") from None


class _Regressor:
    """An XGBRegressor (its Booster's trees as a Forest) under zero or more inverse target transforms."""

    def __init__(self, rec: Any, where: str) -> None:
        self.inverses: list[Any] = []  # applied last to first
        while isinstance(rec, Record) and rec.kind == "TransformedTargetRegressor":
            self.inverses.append(self._inverse(rec.state.get("transformer_"), where))
            rec = rec.state.get("regressor_")
        rec = _need(rec, "XGBRegressor", where)
        from benchmarks.surrogates.forest import Forest

        self.forest = Forest([json.loads(bytes(_booster(rec.state.get("_Booster"), where).save_raw("json")))])

    @staticmethod
    def _inverse(tr: Any, where: str) -> Any:
        if isinstance(tr, Record) and tr.kind == "MinMaxScaler":
            lo, scale = np.asarray(tr.state["min_"], np.float64), np.asarray(tr.state["scale_"], np.float64)
            return lambda y: (y - lo[0]) / scale[0]
        if isinstance(tr, Record) and tr.kind == "FunctionTransformer":
            inv, kw = tr.state.get("inverse_func"), dict(tr.state.get("inv_kw_args") or {})
            if inv is None:
                return lambda y: y
            name = inv.qualname.rsplit(".", 1)[-1] if isinstance(inv, type) and issubclass(inv, Record) else None
            if name not in _FUNCS:
                raise _Fail(f"{where}: unknown inverse target transform {inv!r} (JAHS's are sigmoid / inverse_sigmoid)")
            return lambda y: _FUNCS[name](y, **kw)
        raise _Fail(f"{where}: unsupported target transformer {tr!r} (JAHS's are MinMaxScaler and sigmoid functions)")

    def predict(self, x: np.ndarray) -> np.ndarray:
        y = self.forest.members(x)[0]
        for inv in reversed(self.inverses):  # the outermost TransformedTargetRegressor was read first: inverted last
            y = inv(y)
        return y


class MetricModel:
    """One metric's folder: the fitted pipeline as an encoder and a regressor."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.metric = folder, folder.name
        files = [folder / "params.pkl.gz", folder / "model.pkl.gz"]
        for f in files:
            if not f.is_file():
                raise DataError(f"{folder}: no {f.name} (JAHS-Bench-201 layout: assembled_surrogates/<task>/<metric>/)")
        params = load_pickle(files[0])
        model = load_pickle(files[1])
        self.sha256 = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
        where = str(files[1])
        try:
            pipe = _need(model, "Pipeline", where)
            steps = [s[1] for s in pipe.state.get("steps", [])]
            if len(steps) != 2:
                raise _Fail(f"{where}: expected the pipeline (preprocess, estimator), got {len(steps)} steps")
            headers = _names(params.get("feature_headers")) if isinstance(params, dict) else None
            self.encoder = _Encoder(steps[0], headers, where)
            self.regressor = _Regressor(steps[1], where)
            self.sklearn_version = str(pipe.state.get("_sklearn_version", "unknown"))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DataError(f"{where}: not a JAHS-Bench-201 surrogate pipeline ({type(exc).__name__}: {exc})") from None
        if self.encoder.names and "epoch" not in self.encoder.names:
            raise DataError(f"{where}: the model's inputs {self.encoder.names} lack the epoch")

    def predict(self, rows: list[dict[str, Any]]) -> np.ndarray:
        return self.regressor.predict(self.encoder.encode(rows))


def task_folder(root: Path, task: str) -> Path:
    """``root`` may be the download folder, its ``assembled_surrogates`` or the task's folder itself."""
    for cand in (root / "assembled_surrogates" / task, root / task, root):
        if (cand / "valid-acc").is_dir():
            return cand
    raise DataError(f"no JAHS-Bench-201 surrogate of {task} under {root} "
                    f"(expected assembled_surrogates/{task}/valid-acc/model.pkl.gz)")
