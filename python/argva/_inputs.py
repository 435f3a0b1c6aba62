"""Turning the inputs Python users have (numpy, SciPy sparse, CPU torch tensors, PyG-style
objects) into the bytes the native module reads. Only shapes and dtypes are checked here;
values (ids in range, finite features, a non-empty graph) are checked by argva itself, with
the CLI's messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import numpy as np

Device = Union[int, str, None]


def device_arg(device: Device) -> Device:
    if device is None or isinstance(device, str):
        return device
    if isinstance(device, (int, np.integer)) and not isinstance(device, bool) and device >= 0:
        return int(device)
    raise ValueError(
        f"device must be an index into argva.devices() or part of an adapter's name, got {device!r}"
    )


def check_count(name: str, value: Any) -> None:
    """Integer settings (epochs, widths, seeds) must be non-negative integers."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def numpy_scalar(value: Any) -> Any:
    """``json.dumps``'s fallback: a numpy scalar (``np.int64(50)`` from ``np.arange``, an
    ``np.float32`` learning rate) as the Python number it holds; anything else stays refused."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def batch_spec(batch: Any) -> Optional[str]:
    """``argva.fit``'s ``batch``: None, ``(parts, per)`` or the CLI's ``"parts=P,per=Q"``."""
    if batch is None or isinstance(batch, str):
        return batch
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        parts, per = batch
        check_count("batch's parts", parts)
        check_count("batch's per", per)
        return f"parts={int(parts)},per={int(per)}"
    raise ValueError(f'batch must be (parts, per) or "parts=P,per=Q", got {batch!r}')


def _numpy(obj: Any, name: str) -> np.ndarray:
    """A numpy view of an array-like; torch tensors are converted without importing torch."""
    if type(obj).__module__.startswith("torch") and hasattr(obj, "numpy"):
        dev = str(getattr(obj, "device", "cpu"))
        if dev != "cpu":
            raise ValueError(f"{name} is a tensor on {dev}: move it to the CPU first (.cpu())")
        if getattr(obj, "is_sparse", False) or str(getattr(obj, "layout", "")).endswith("_coo"):
            raise ValueError(f"{name} is a sparse tensor: pass a SciPy sparse matrix instead")
        obj = obj.detach().numpy()
    try:
        return np.asarray(obj)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} is not an array: {e}") from None


def _is_scipy_sparse(obj: Any) -> bool:
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "tocsr")


def edge_bytes(edge_index: Any) -> bytes:
    """int64 pairs from a 2 × E (PyG) or E × 2 integer array."""
    a = _numpy(edge_index, "edge_index")
    if a.ndim != 2 or 2 not in a.shape:
        raise ValueError(
            f"edge_index must be a 2 × E array (PyG's layout) or E × 2, got shape {a.shape}"
        )
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"edge_index must hold integer node ids, got dtype {a.dtype}")
    pairs = a.T if a.shape[0] == 2 else a
    if a.dtype == np.uint64 and pairs.size and pairs.max() > np.iinfo(np.int64).max:
        raise ValueError(
            f"edge_index: node id {pairs.max()} is not allowed: ids must be below 2**32 - 1"
        )
    return np.ascontiguousarray(pairs, dtype=np.int64).tobytes()


FeatureParts = Union[Tuple[int, int, bytes], Tuple[int, int, bytes, bytes, bytes], None]


def _check_numeric(dtype: np.dtype, name: str) -> None:
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer) or dtype == np.bool_):
        raise ValueError(f"{name} must hold real numbers, got dtype {dtype}")


def feature_parts(x: Any) -> FeatureParts:
    """Dense float32 bytes, or CSR parts (int64 indptr and indices, float32 data)."""
    if x is None:
        return None
    if _is_scipy_sparse(x):
        c = x.tocsr()
        _check_numeric(c.dtype, "x")
        rows, cols = c.shape
        return (
            int(rows),
            int(cols),
            np.ascontiguousarray(c.indptr, dtype=np.int64).tobytes(),
            np.ascontiguousarray(c.indices, dtype=np.int64).tobytes(),
            np.ascontiguousarray(c.data, dtype=np.float32).tobytes(),
        )
    parts = getattr(x, "_argva_csr", None)
    if parts is not None:  # an argva.datasets dataset's features, already CSR
        return parts
    a = _numpy(x, "x")
    if a.ndim != 2:
        raise ValueError(f"x must be a 2-D array (nodes × features), got shape {a.shape}")
    _check_numeric(a.dtype, "x")
    with np.errstate(over="ignore"):  # a float64 too large for float32 becomes inf: refused
        values = np.ascontiguousarray(a, dtype=np.float32)
    return (int(a.shape[0]), int(a.shape[1]), values.tobytes())


def label_bytes(y: Any) -> Optional[bytes]:
    if y is None:
        return None
    a = _numpy(y, "y")
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"y must hold one class per node (1-D), got shape {a.shape}")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"y must hold integer classes, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int64).tobytes()


@dataclass
class GraphBytes:
    name: str
    edges: bytes
    num_nodes: Optional[int]
    features: FeatureParts
    labels: Optional[bytes]


def as_graph(data: Any, x: Any, y: Any, num_nodes: Optional[int]) -> GraphBytes:
    """`fit`'s first arguments: an edge_index with x and y, or one object carrying them."""
    name = "graph"
    if hasattr(data, "edge_index"):
        name = str(getattr(data, "name", None) or "graph")
        if x is None:  # argva's own datasets hand over their CSR features as they are
            x = data if hasattr(data, "_argva_csr") else getattr(data, "x", None)
        y = getattr(data, "y", None) if y is None else y
        if num_nodes is None:
            n = getattr(data, "num_nodes", None)
            num_nodes = int(n) if isinstance(n, (int, np.integer)) else None
        data = data.edge_index
    if num_nodes is not None and (
        isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 0
    ):
        raise ValueError(f"num_nodes must be a non-negative integer, got {num_nodes!r}")
    return GraphBytes(
        name=name,
        edges=edge_bytes(data),
        num_nodes=None if num_nodes is None else int(num_nodes),
        features=feature_parts(x),
        labels=label_bytes(y),
    )
