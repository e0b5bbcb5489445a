"""Plain data across the sandbox wall: JSON for the structure, safetensors for the tensors, never pickle.

The grader sends a check's hidden inputs into the sandbox and gets back what the
student's function returned. Both directions use :func:`encode` / :func:`decode`, so
nothing the sandbox sends back can run code in the grader: decoding builds only
numbers, strings, lists, tuples, dicts, tensors, numpy arrays, dtypes and
:class:`Opaque` stand-ins for anything else (which every check then rejects with its
usual "expected a number, got a ..." message).

One encoded value is one line of JSON::

    {"value": <tree>, "tensors": "<base64 of a safetensors file>"}

where the tree is JSON itself for ``None``, booleans, numbers, strings and lists, and a
one-key object for everything else: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"tensor": name}``, ``{"ndarray": name}``, ``{"dtype": "float16"}``, ``{"ellipsis": 1}``,
``{"object": [type name, repr]}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

__all__ = ["Opaque", "decode", "encode", "opaque"]

MAX_DEPTH = 20  # deeper structures are sent as Opaque (a list that contains itself, say)
MAX_ITEMS = 100_000  # more list items / dict entries than this in one value: sent as Opaque


class Opaque:
    """Stands for a value the sandbox could not send as data; shows the value's type name and repr."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


def opaque(type_name: str, text: str) -> Opaque:
    """An :class:`Opaque` whose class is named ``type_name``, so a check's "got a <type>" names the original."""
    cls = type(str(type_name)[:80] or "object", (Opaque,), {})
    return cls(str(type_name)[:80], str(text)[:200])


class _Encoder:
    def __init__(self):
        self.tensors: dict[str, torch.Tensor] = {}
        self.items = 0

    def tree(self, value: Any, depth: int = 0) -> Any:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            return self.opaque(value)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)):
            return int(value) if isinstance(value, int) else float(value)
        if value is Ellipsis:
            return {"ellipsis": 1}
        if isinstance(value, torch.dtype):
            return {"dtype": str(value).removeprefix("torch.")}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.tree(value.item(), depth)
        if isinstance(value, torch.Tensor):
            return self.tensor("tensor", value)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return self.tensor("ndarray", value)
        if type(value) in (list, tuple):
            items = [self.tree(v, depth + 1) for v in value]
            return items if type(value) is list else {"tuple": items}
        if type(value) is dict:
            return {"dict": [[self.tree(k, depth + 1), self.tree(v, depth + 1)] for k, v in value.items()]}
        return self.opaque(value)

    def tensor(self, kind: str, value: torch.Tensor | np.ndarray) -> Any:
        try:
            t = torch.from_numpy(np.ascontiguousarray(value)) if kind == "ndarray" else value
            t = t.detach().to("cpu").contiguous().clone()
            save_tensors({"probe": t.reshape(-1)[:0]})  # a dtype safetensors cannot store becomes Opaque
        except Exception:  # noqa: BLE001 (anything odd about the tensor: send it as an Opaque)
            return self.opaque(value)
        name = f"t{len(self.tensors)}"
        self.tensors[name] = t
        return {kind: name}

    @staticmethod
    def opaque(value: Any) -> dict:
        try:
            text = repr(value)[:200]
        except Exception:  # noqa: BLE001 (a student's __repr__ may raise anything)
            text = "<unprintable>"
        return {"object": [type(value).__name__, text]}


def encode(value: Any) -> str:
    """One line of JSON holding ``value`` as plain data (see the module docstring)."""
    enc = _Encoder()
    tree = enc.tree(value)
    blob = save_tensors(enc.tensors) if enc.tensors else b""
    return json.dumps({"value": tree, "tensors": base64.b64encode(blob).decode("ascii")})


def decode(line: str | bytes) -> Any:
    """The value :func:`encode` wrote. Raises ValueError on anything that is not such a line."""
    try:
        doc = json.loads(line)
        blob = base64.b64decode(doc["tensors"], validate=True)
        tensors = load_tensors(blob) if blob else {}
        return _build(doc["value"], tensors)
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise ValueError(f"not an encoded value: {type(e).__name__}: {e}"[:300]) from None


def _build(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_build(v, tensors) for v in tree]
    if not isinstance(tree, dict) or len(tree) != 1:
        raise ValueError(f"unexpected node {str(tree)[:80]}")
    ((kind, body),) = tree.items()
    if kind == "tuple":
        return tuple(_build(v, tensors) for v in body)
    if kind == "dict":
        return {_build(k, tensors): _build(v, tensors) for k, v in body}
    if kind == "tensor":
        return tensors[body]
    if kind == "ndarray":
        return tensors[body].numpy()
    if kind == "dtype":
        dtype = getattr(torch, body, None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"unknown dtype {body!r}")
        return dtype
    if kind == "ellipsis":
        return Ellipsis
    if kind == "object":
        return opaque(*body)
    raise ValueError(f"unknown node kind {kind!r}")
