"""The ONNX flavor: ONNX models saved as ``model.onnx`` and run with onnxruntime on CPU.

``save`` takes an ``onnx.ModelProto``, the bytes of a serialized model or the path of a
``.onnx`` file (its external data is read from next to it), writes ``model.onnx`` and checks
it with ``onnx.checker``. A model too large for one protobuf (2 GB) keeps its tensors in
``model.onnx.data``. An ONNX file is a graph of standard operators, not code; onnxruntime
refuses external-data paths that leave the model's folder, and windlass registers no custom
operator libraries, so loading needs no trust.

``load`` opens an ``onnxruntime.InferenceSession`` on the CPU provider with onnxruntime's
own thread defaults. ``predict`` feeds a model with one input the array (a DataFrame as its
values), cast to the input's declared element type (float64 → float32 for a ``float``
input); a model with several inputs gets them by name from DataFrame columns or a dict (a
column becomes ``[n, 1]`` for a rank-2 input). It returns the first output as numpy, or a
dict of every output by name when saved with ``all_outputs=True``. ``predict_proba`` returns
the output named ``probabilities``/``output_probability`` (skl2onnx's names; ZipMap's list
of dicts becomes an array, one column per class).

onnxruntime writes a device id under ``$XDG_CACHE_HOME`` (``~/.cache``) when imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from windlass.exceptions import InvalidInput, MissingDependency, SchemaMismatch
from windlass.models.flavor import Flavor, Predictor, class_path, pinned

MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
# protobuf cannot serialize a message of 2 GiB or more; stay clear of the limit.
EXTERNAL_DATA_BYTES = 2**31 - 2**26
PROBA_OUTPUTS = ("probabilities", "output_probability")
# onnxruntime's type names of tensor inputs, as numpy dtypes.
_NUMPY_TYPES = {
    "float": "float32",
    "double": "float64",
    "float16": "float16",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "bool": "bool",
    "string": "object",
}


def _import(module: str) -> Any:
    """Import ``module`` or raise MissingDependency naming the onnx extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"the onnx flavor needs {module}, which is not installed "
            f'({exc}); install it with: pip install "windlass[onnx]"',
            flavor="onnx",
            package=module,
        ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _as_array(value: Any) -> Any:
    """Return an output as numpy; ZipMap's list of {class: probability} becomes a matrix."""
    import numpy as np

    if isinstance(value, list) and value and isinstance(value[0], dict):
        keys = list(value[0])
        return np.array([[row[key] for key in keys] for row in value])
    return np.asarray(value)


class OnnxPredictor(Predictor):
    """A loaded ``onnxruntime.InferenceSession``."""

    def __init__(self, native: Any, all_outputs: bool = False) -> None:
        self.native = native
        self.all_outputs = all_outputs
        self._inputs = native.get_inputs()
        self._outputs = [o.name for o in native.get_outputs()]

    def _cast(self, value: Any, spec: Any) -> Any:
        import numpy as np

        array = np.asarray(value)
        if len(spec.shape) == 2 and array.ndim == 1 and len(self._inputs) > 1:
            array = array.reshape(-1, 1)  # one table column feeding a [n, 1] input
        dtype = _NUMPY_TYPES.get(spec.type.removeprefix("tensor(").removesuffix(")"))
        try:
            return array if dtype is None else array.astype(dtype, copy=False)
        except (ValueError, TypeError) as exc:
            raise SchemaMismatch(
                f"ONNX input {spec.name!r} takes {spec.type}; the values "
                f"cannot be converted: {exc}",
                column=spec.name,
            ) from None

    def _feeds(self, data: Any) -> dict[str, Any]:
        """Return the session's input feed for ``data``, by input name."""
        from windlass.models.signature import as_frame

        if len(self._inputs) == 1 and not isinstance(data, dict):
            frame = as_frame(data)
            return {
                self._inputs[0].name: self._cast(
                    frame.to_numpy() if frame is not None else data, self._inputs[0]
                )
            }
        columns = data if isinstance(data, dict) else as_frame(data)
        names = [spec.name for spec in self._inputs]
        if columns is None:
            raise SchemaMismatch(
                f"this ONNX model takes inputs {names}: pass a DataFrame or a "
                "dict with those names",
                expected=names,
            )
        missing = [name for name in names if name not in columns]
        if missing:
            raise SchemaMismatch(
                f"missing ONNX input(s) {missing}; the model takes {names}",
                column=missing[0],
                missing=missing,
            )
        return {spec.name: self._cast(columns[spec.name], spec) for spec in self._inputs}

    def _run(self, data: Any) -> list[Any]:
        feeds = self._feeds(data)
        try:
            return list(self.native.run(None, feeds))
        except Exception as exc:
            # Wrong shapes or types come back as onnxruntime's InvalidArgument (or a
            # ValueError from its Python layer); anything else is not the input's fault.
            if isinstance(exc, ValueError | TypeError) or type(exc).__name__ == "InvalidArgument":
                message = " ".join(str(exc).split())  # short, but spread over lines
                raise SchemaMismatch(f"onnxruntime refused the input: {message}") from None
            raise

    def predict(self, data: Any) -> Any:
        """Return the first output as numpy, or every output by name (``all_outputs``)."""
        results = self._run(data)
        if self.all_outputs:
            return {
                name: _as_array(value) for name, value in zip(self._outputs, results, strict=True)
            }
        return _as_array(results[0])

    def predict_proba(self, data: Any) -> Any:
        """Return the class-probability output, for classifiers converted by skl2onnx."""
        for name in PROBA_OUTPUTS:
            if name in self._outputs:
                return _as_array(self._run(data)[self._outputs.index(name)])
        return super().predict_proba(data)


class OnnxFlavor(Flavor):
    """ONNX models (``onnx.ModelProto``, serialized bytes or a ``.onnx`` file)."""

    name = "onnx"
    extra = "onnx"
    module = "onnxruntime"
    package = "onnxruntime"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is an ``onnx.ModelProto``."""
        cls = type(model)
        return cls.__qualname__ == "ModelProto" and cls.__module__.split(".")[0] == "onnx"

    def requirements(self) -> list[str]:
        """Return onnx and onnxruntime, pinned to the installed versions."""
        return [pinned("onnx"), pinned("onnxruntime")]

    def _model_proto(self, onnx: Any, model: Any) -> Any:
        """Return ``model`` (a ModelProto, bytes or a path) as a ModelProto."""
        if self.handles(model):
            return model
        try:
            if isinstance(model, bytes | bytearray | memoryview):
                return onnx.load_model_from_string(bytes(model))
            if isinstance(model, str | os.PathLike):
                path = Path(model)
                if not path.is_file():
                    raise InvalidInput(f"no ONNX file at {path}", path=str(path))
                return onnx.load(str(path))
        except InvalidInput:
            raise
        except Exception as exc:  # protobuf DecodeError, OSError, onnx's own errors
            source = model if isinstance(model, str | os.PathLike) else "the given bytes"
            raise InvalidInput(
                f"{source} is not a readable ONNX model: {_first_line(exc)}"
            ) from None
        raise InvalidInput(
            f"the onnx flavor saves an onnx.ModelProto, its serialized bytes or "
            f"the path of a .onnx file, not {class_path(model)}"
        )

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``model.onnx`` (plus ``model.onnx.data`` past 2 GB) and check it."""
        if serialization not in (None, "onnx"):
            raise InvalidInput(
                f"the onnx flavor saves ONNX ('onnx'), not {serialization!r}",
                serialization=serialization,
            )
        options = dict(options or {})
        all_outputs = bool(options.pop("all_outputs", False))
        if options:
            raise InvalidInput(
                f"unknown onnx-flavor option(s): {sorted(options)}; it takes all_outputs"
            )
        onnx = _import("onnx")
        proto = self._model_proto(onnx, model)
        path = folder / MODEL_FILE
        external = proto.ByteSize() >= EXTERNAL_DATA_BYTES
        if external:
            # Saving with external data rewrites the tensors in place: do it on a copy.
            copy = onnx.ModelProto()
            copy.CopyFrom(proto)
            onnx.save_model(
                copy,
                str(path),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=DATA_FILE,
                size_threshold=0,
            )  # every initializer: one rule, one data file
        else:
            onnx.save_model(proto, str(path))
        try:
            onnx.checker.check_model(str(path))
        except onnx.checker.ValidationError as exc:
            raise InvalidInput(f"the ONNX model is not valid: {_first_line(exc)}") from None
        initializers = {t.name for t in proto.graph.initializer}
        return {
            "file": MODEL_FILE,
            "format": "onnx",
            "data_file": DATA_FILE if external else None,
            "inputs": [self._describe(i) for i in proto.graph.input if i.name not in initializers],
            "outputs": [self._describe(o) for o in proto.graph.output],
            "all_outputs": all_outputs,
            "ir_version": int(proto.ir_version),
            "opsets": {op.domain or "ai.onnx": int(op.version) for op in proto.opset_import},
            "producer": f"{proto.producer_name} {proto.producer_version}".strip() or None,
        }

    @staticmethod
    def _describe(value: Any) -> dict[str, Any]:
        """Return an input/output's name, element type and shape (-1: any) as plain data."""
        if not value.type.HasField("tensor_type"):  # sequences and maps (ZipMap output)
            return {"name": value.name, "type": value.type.WhichOneof("value"), "shape": None}
        from onnx import TensorProto

        tensor = value.type.tensor_type

        shape = (
            [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
            if tensor.HasField("shape")
            else None
        )
        return {
            "name": value.name,
            "type": TensorProto.DataType.Name(tensor.elem_type).lower(),
            "shape": shape,
        }

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Open an onnxruntime CPU session on ``model.onnx``; a bad file is InvalidInput."""
        ort = _import("onnxruntime")
        path = folder / MODEL_FILE
        if not path.is_file():
            raise InvalidInput(f"the ONNX model file {path} is missing", path=str(path))
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are not the user's to fix
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own pybind classes, all Exception
            raise InvalidInput(
                f"{path} is not a loadable ONNX model: {_first_line(exc)}", path=str(path)
            ) from None
        return OnnxPredictor(session, bool(config.get("all_outputs", False)))
