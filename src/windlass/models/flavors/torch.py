"""The PyTorch flavor: modules exported with ``torch.export`` to a ``.pt2`` archive.

A ``torch.nn.Module`` is exported with ``torch.export.export`` on the input example (which
is required: export traces the module) with a dynamic batch dimension, in eval mode, and
saved with ``torch.export.save`` as ``model.pt2``; an ``ExportedProgram`` is saved as it
is. TorchScript is deprecated in torch 2.13 and not used. The example becomes a tensor of
its own dtype, except that float64 arrays (numpy's default) become the module's float dtype
(float32 for most models). Loading gives ``torch.export.load(...).module()``; ``predict``
converts its input to that dtype, runs under ``torch.inference_mode()`` and returns numpy
(a dict of arrays for a module returning a tuple or dict). Global torch settings (threads,
grad mode) are left alone.

Safety: ``torch.export.load`` is **not** safe on untrusted files, and it has no
``weights_only`` switch. Read in torch 2.13 (``torch/export/pt2_archive/_package.py``,
``torch/_export/serde/serialize.py``, ``torch/export/_unlift.py``):

- weights and constants whose payload config says ``use_pickle`` are read with
  ``torch.load(weights_only=False)``; "opaque" constants with ``pickle.loads``; torchbind
  objects with the TorchScript unpickler;
- the sample inputs are read with ``weights_only=True`` and, if that fails, again with
  ``weights_only=False``;
- ``guards_code`` strings from ``models/model.json`` are ``exec``-ed into the module's
  guard function and run on every call: a crafted archive wrote a file when its loaded
  module was called (checked here);
- symbolic-shape expressions are parsed with ``sympy.sympify`` (which uses ``eval``), and
  graph targets are resolved by attribute lookup from ``torch`` (``torch.os.system``
  resolves);
- an archive with AOTInductor parts loads native shared libraries from it.

So every torch model's config carries ``needs_trust`` and :meth:`TorchFlavor.load` refuses
without trust whatever the config says (a manifest is written by the model's author, so it
cannot vouch for itself). Models meant to be shared with people who do not trust their
author should be exported to ONNX and saved with the onnx flavor.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from windlass.exceptions import InvalidInput, SchemaMismatch, UntrustedModel
from windlass.models.flavor import Flavor, Predictor, class_path, pinned

MODEL_FILE = "model.pt2"
NEEDS_TRUST = (
    "torch.export.load can run code from a crafted .pt2 archive (pickled "
    "payloads, guard code, symbolic expressions)"
)
_MODULE = "torch.nn.modules.module.Module"
_PROGRAM = "torch.export.exported_program.ExportedProgram"


def _class_paths(model: Any) -> set[str]:
    return {f"{c.__module__}.{c.__qualname__}" for c in type(model).__mro__}


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _to_numpy(output: Any) -> Any:
    """Return a module's output as numpy: an array, or a dict of arrays for tuples/dicts."""
    import numpy as np
    import torch

    if isinstance(output, torch.Tensor):
        if output.dtype == torch.bfloat16:  # numpy has no bfloat16
            output = output.float()
        return output.detach().cpu().numpy()
    if isinstance(output, dict):
        return {str(key): _to_numpy(value) for key, value in output.items()}
    if isinstance(output, list | tuple):
        return {f"output_{i}": _to_numpy(value) for i, value in enumerate(output)}
    return np.asarray(output)


def _as_tensor(data: Any) -> Any:
    """Return ``data`` (tensor, array, list, DataFrame) as a CPU tensor of its own dtype."""
    import numpy as np
    import torch

    from windlass.models.signature import as_frame

    if isinstance(data, torch.Tensor):
        return data.detach()
    frame = as_frame(data)
    array = frame.to_numpy() if frame is not None else np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise SchemaMismatch(
            f"a torch model takes numbers; got an array of {array.dtype.name}", got=array.dtype.name
        )
    # from_numpy shares memory and warns on read-only arrays (pandas views are).
    return torch.from_numpy(np.require(array, requirements=["C", "W"]))


class TorchPredictor(Predictor):
    """A loaded exported program, as a callable ``torch.nn.Module``."""

    def __init__(self, native: Any, input_dtype: Any) -> None:
        self.native = native
        # The dtype the module was exported with; float64 input is converted to it.
        self.input_dtype = input_dtype

    def predict(self, data: Any) -> Any:
        """Return the module's output for ``data`` as numpy, computed without autograd."""
        import torch

        tensor = _as_tensor(data)
        if tensor.dtype != self.input_dtype:
            if tensor.is_floating_point() and not self.input_dtype.is_floating_point:
                raise SchemaMismatch(
                    f"the model takes {_dtype_name(self.input_dtype)} "
                    f"input; got {_dtype_name(tensor.dtype)}",
                    expected=_dtype_name(self.input_dtype),
                    got=_dtype_name(tensor.dtype),
                )
            tensor = tensor.to(self.input_dtype)
        try:
            with torch.inference_mode():
                return _to_numpy(self.native(tensor))
        except AssertionError as exc:
            # The exported program checks input shapes with guards ("Guard failed: ...").
            raise SchemaMismatch(
                f"input of shape {list(tensor.shape)} does not fit the "
                f"exported model: {_first_line(exc)}",
                got=list(tensor.shape),
            ) from None


class TorchFlavor(Flavor):
    """PyTorch modules and exported programs, saved with ``torch.export`` as ``.pt2``."""

    name = "torch"
    extra = "torch"
    module = "torch"
    package = "torch"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is a ``torch.nn.Module`` or an ``ExportedProgram``."""
        return bool(_class_paths(model) & {_MODULE, _PROGRAM})

    def requirements(self) -> list[str]:
        """Return torch pinned without its local tag (``2.13.0+cpu`` is ``torch==2.13.0``)."""
        return [pinned(self.package, self.module).split("+", 1)[0]]

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Export ``model`` with a dynamic batch dimension and write ``model.pt2``."""
        if serialization not in (None, "export"):
            raise InvalidInput(
                f"the torch flavor saves with torch.export ('export'), not {serialization!r}",
                serialization=serialization,
            )
        if options:
            raise InvalidInput(f"unknown torch-flavor option(s): {sorted(options)}")
        torch = self.require()
        paths = _class_paths(model)
        if _PROGRAM in paths:
            program = model
            inputs = (program.example_inputs or ((), {}))[0]
            dtype = (
                inputs[0].dtype if inputs and isinstance(inputs[0], torch.Tensor) else torch.float32
            )
            shape = None
        elif _MODULE in paths:
            program, dtype, shape = self._export(torch, model, example)
        else:
            raise InvalidInput(
                f"the torch flavor saves torch.nn.Module and ExportedProgram "
                f"objects, not {class_path(model)}"
            )
        torch.export.save(program, str(folder / MODEL_FILE))
        return {
            "file": MODEL_FILE,
            "format": "pt2",
            "model_class": class_path(model),
            "input_dtype": _dtype_name(dtype),
            "input_shape": shape,
            "needs_trust": NEEDS_TRUST,
        }

    def _export(self, torch: Any, module: Any, example: Any) -> tuple[Any, Any, list[int]]:
        """Return the exported program, its input dtype and shape (-1: any batch size)."""
        if example is None:
            raise InvalidInput(
                "torch models need input_example to be exported: torch.export "
                "traces the module on it (pass input_example=a batch of input)"
            )
        float_dtype = next(
            (p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32
        )
        try:
            tensor = _as_tensor(example)
        except (SchemaMismatch, TypeError, ValueError) as exc:
            raise InvalidInput(f"the input example cannot be made a tensor: {exc}") from None
        if tensor.dtype == torch.float64 and not isinstance(example, torch.Tensor):
            # numpy's default float is rarely what a module computes in: use its own.
            tensor = tensor.to(float_dtype)
        if tensor.ndim == 0 or tensor.shape[0] == 0:
            raise InvalidInput(
                "the torch input example needs a batch dimension with at least "
                f"one row; got shape {list(tensor.shape)}"
            )
        if tensor.shape[0] == 1:
            # export specializes a size-1 dimension to a constant: trace on two rows.
            tensor = torch.cat([tensor, tensor])
        batch = torch.export.Dim("batch")
        # Each submodule's own flag: module.train(True) would also unfreeze the parts the
        # user keeps in eval mode on purpose (frozen batch norm).
        modes = {sub: sub.training for sub in module.modules()}
        module.eval()  # export what predicts: dropout off, batch norm on running stats
        try:
            program = torch.export.export(module, (tensor,), dynamic_shapes=({0: batch},))
        except Exception as exc:  # torch raises many types here; all mean "cannot export"
            raise InvalidInput(
                f"torch.export could not export {class_path(module)} with a dynamic batch "
                f"dimension: {type(exc).__name__}: {_first_line(exc)}"
            ) from None
        finally:
            for sub, training in modes.items():
                sub.training = training
        return program, tensor.dtype, [-1, *(int(d) for d in tensor.shape[1:])]

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Load ``model.pt2`` (only when trusted: see the module docstring)."""
        if not trust:
            raise UntrustedModel(
                f"{folder} holds a torch .pt2 archive; torch.export.load can "
                "run code from a crafted one. Pass trust=True if you trust "
                "its source",
                path=str(folder),
            )
        torch = self.require()
        path = folder / MODEL_FILE
        if not path.is_file():
            raise InvalidInput(f"the torch model file {path} is missing", path=str(path))
        # Checked first: torch logs a traceback for non-archives before raising.
        if not zipfile.is_zipfile(path):
            raise InvalidInput(
                f"{path} is not a torch .pt2 archive (not a zip file)", path=str(path)
            )
        dtype = getattr(torch, str(config.get("input_dtype") or "float32"), None)
        if not isinstance(dtype, torch.dtype):
            raise InvalidInput(
                f"unknown torch input dtype {config.get('input_dtype')!r} in the config of {folder}"
            )
        try:
            module = torch.export.load(str(path)).module()
        except Exception as exc:  # a damaged archive fails in many ways, all InvalidInput
            raise InvalidInput(
                f"{path} is not a readable torch .pt2 archive: "
                f"{type(exc).__name__}: {_first_line(exc)}",
                path=str(path),
            ) from None
        return TorchPredictor(module, dtype)
