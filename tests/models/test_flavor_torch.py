"""The torch flavor: torch.export archives, dynamic batch, dtypes, trust, fresh processes."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from flavor_helpers import (
    FreshJob,
    FreshResult,
    assert_imports_lightly,
    assert_no_pickle,
    predict_fresh,
)
from sklearn.linear_model import LogisticRegression

from windlass.exceptions import IntegrityFailure, InvalidInput, SchemaMismatch, UntrustedModel
from windlass.models.flavors import flavor_for
from windlass.models.flavors.torch import TorchFlavor
from windlass.models.loading import load_model_folder
from windlass.models.manifest import hash_folder, read_manifest, write_manifest
from windlass.models.package import save_model


class Classifier(torch.nn.Module):
    """A small MLP with dropout (so eval mode matters)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class BagOfTokens(torch.nn.Module):
    """Takes integer token ids: the exported input dtype must stay int64."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 3)
        self.head = torch.nn.Linear(3, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens).mean(dim=1))


class TwoHeads(torch.nn.Module):
    """Returns a tuple: the predictor answers with a dict of arrays.

    The outputs are 1-D: package.save_model cannot yet infer an output signature from a
    dict holding 2-D arrays (pandas refuses them as columns).
    """

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.linear(x)
        return logits[:, 0], torch.softmax(logits, dim=1)[:, 1]


class Branchy(torch.nn.Module):
    """Control flow on data values: torch.export cannot trace it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if x.sum() > 0 else x


def _data(rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(rows, 4))
    return features, np.digitize(features[:, 1] - features[:, 2], [-0.5, 0.5])


def _trained() -> Classifier:
    torch.manual_seed(0)
    features, label = _data()
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = torch.tensor(features, dtype=torch.float32), torch.tensor(label)
    for _ in range(30):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return model  # left in training mode on purpose


def _eval(model: torch.nn.Module, data: Any) -> Any:
    model.eval()
    with torch.no_grad():
        output = model(torch.as_tensor(data))
    model.train()
    if isinstance(output, tuple):
        return {f"output_{i}": value.numpy() for i, value in enumerate(output)}
    return output.numpy()


@dataclass
class Saved:
    """Models saved once for the module, with their in-process and fresh-process answers."""

    root: Path
    expected: dict[str, Any]
    fresh: dict[str, FreshResult]
    classifier: Classifier


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """Export and save each kind of module once; predict them all in one fresh process."""
    root = tmp_path_factory.mktemp("torch")
    features, _ = _data()
    classifier = _trained()
    frame = pd.DataFrame(features, columns=["a", "b", "c", "d"])
    tokens = torch.randint(0, 10, (4, 6), generator=torch.Generator().manual_seed(1))
    many_tokens = np.random.default_rng(2).integers(0, 10, (9, 6))
    torch.manual_seed(0)
    bag, heads = BagOfTokens(), TwoHeads()
    # Examples of 5 rows, 1 row (a DataFrame) and 4 rows; predictions on other batch sizes.
    save_model(classifier, root / "mlp", input_example=features[:5])
    save_model(classifier, root / "frame", input_example=frame[:1])
    save_model(bag, root / "tokens", input_example=tokens)
    save_model(heads, root / "heads", input_example=features[:3].tolist())
    as_float32 = features.astype(np.float32)
    cases = {
        "mlp": ("mlp", features, _eval(classifier, as_float32)),
        "mlp-one-row": ("mlp", features[:1], _eval(classifier, as_float32[:1])),
        "frame": ("frame", frame, _eval(classifier, as_float32)),
        "tokens": ("tokens", many_tokens, _eval(bag, many_tokens)),
        "heads": ("heads", features, _eval(heads, as_float32)),
    }
    jobs = {
        name: FreshJob(root / folder, data, trust=True) for name, (folder, data, _) in cases.items()
    }
    return Saved(
        root,
        {name: case[2] for name, case in cases.items()},
        predict_fresh(jobs, root / "fresh"),
        classifier,
    )


@pytest.mark.parametrize("case", ["mlp", "mlp-one-row", "frame", "tokens", "heads"])
def test_round_trip_in_a_fresh_process_with_any_batch_size(saved: Saved, case: str) -> None:
    fresh = saved.fresh[case]
    assert fresh.flavor == "torch"
    assert "GraphModule" in fresh.native
    got, expected = fresh.outputs["predict"], saved.expected[case]
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6)
    else:
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_export_keeps_dtypes_and_the_module_training_flag(saved: Saved) -> None:
    assert saved.classifier.training  # eval() only for the export, then restored
    mlp = read_manifest(saved.root / "mlp").flavors["torch"]
    assert (mlp["input_dtype"], mlp["input_shape"]) == ("float32", [-1, 4])
    tokens = read_manifest(saved.root / "tokens").flavors["torch"]
    assert (tokens["input_dtype"], tokens["input_shape"]) == ("int64", [-1, 6])
    predictor = TorchFlavor().load(saved.root / "tokens", tokens, trust=True)
    with pytest.raises(SchemaMismatch, match="takes int64 input; got float32"):
        predictor.predict(np.ones((2, 6), dtype=np.float32))


def test_submodules_kept_in_eval_mode_stay_so(tmp_path: Path) -> None:
    model = Classifier()
    model.layers[2].eval()  # e.g. a frozen part of a model being fine-tuned
    save_model(model, tmp_path / "m", input_example=np.ones((2, 4)))
    assert model.training and model.layers[0].training
    assert not model.layers[2].training


def test_manifest_pins_torch_and_the_archive_holds_no_pickled_weights(saved: Saved) -> None:
    manifest = read_manifest(saved.root / "mlp")
    assert manifest.flavor == "torch"
    assert f"torch=={torch.__version__.split('+')[0]}" in manifest.requirements
    assert set(manifest.files) == {"model.pt2", "input_example.json", "requirements.txt"}
    assert_no_pickle(saved.root / "mlp")
    with zipfile.ZipFile(saved.root / "mlp" / "model.pt2") as archive:
        configs = [name for name in archive.namelist() if name.endswith("_config.json")]
        assert configs
        for name in configs:
            payloads = json.loads(archive.read(name))["config"].values()
            assert not any(payload["use_pickle"] for payload in payloads), name


def test_loading_needs_trust_even_if_the_manifest_says_otherwise(
    saved: Saved, tmp_path: Path
) -> None:
    with pytest.raises(UntrustedModel, match=r"torch\.export\.load can run code"):
        load_model_folder(saved.root / "mlp")
    # A manifest is written by the model's author: dropping needs_trust changes nothing.
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.pt2").write_bytes((saved.root / "mlp" / "model.pt2").read_bytes())
    manifest = read_manifest(saved.root / "mlp")
    manifest.flavors["torch"].pop("needs_trust")
    manifest.input_example = None
    manifest.files = hash_folder(folder)
    write_manifest(folder, manifest)
    with pytest.raises(UntrustedModel, match="Pass trust=True"):
        load_model_folder(folder)


def test_shapes_the_export_did_not_allow_are_schema_errors(saved: Saved) -> None:
    config = read_manifest(saved.root / "mlp").flavors["torch"]
    predictor = TorchFlavor().load(saved.root / "mlp", config, trust=True)
    with pytest.raises(SchemaMismatch, match="does not fit the exported model"):
        predictor.predict(np.ones((3, 5)))
    loaded = load_model_folder(saved.root / "mlp", trust=True)
    with pytest.raises(SchemaMismatch, match="dimension 1 must be 4"):
        loaded.predict(np.ones((3, 5)))


def test_an_example_is_required_and_must_be_exportable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="torch models need input_example"):
        save_model(Classifier(), tmp_path / "a")
    with pytest.raises(InvalidInput, match="batch dimension"):
        save_model(Classifier(), tmp_path / "b", input_example=np.float64(1.0))
    with pytest.raises(InvalidInput, match=r"torch\.export could not export"):
        save_model(Branchy(), tmp_path / "c", input_example=np.ones((2, 4)))
    with pytest.raises(InvalidInput, match=r"saves with torch\.export"):
        save_model(
            Classifier(), tmp_path / "d", input_example=np.ones((2, 4)), serialization="torchscript"
        )
    assert not any(tmp_path.iterdir())


def test_an_exported_program_is_saved_as_it_is(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = TwoHeads().linear
    example = torch.ones(3, 4)
    program = torch.export.export(
        module, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    save_model(program, tmp_path / "m", input_example=example.numpy())

    loaded = load_model_folder(tmp_path / "m", trust=True)

    np.testing.assert_allclose(
        loaded.predict(np.ones((7, 4))), _eval(module, torch.ones(7, 4)), rtol=1e-6
    )


def test_handles_torch_modules_and_programs_only() -> None:
    flavor = TorchFlavor()
    assert flavor.handles(Classifier())
    assert flavor.handles(torch.nn.Linear(2, 1))
    assert not flavor.handles(torch.ones(2))
    assert not flavor.handles(LogisticRegression())
    assert flavor_for(torch.nn.Linear(2, 1)).name == "torch"


def test_corrupt_archives_give_clear_errors(saved: Saved, tmp_path: Path) -> None:
    config = read_manifest(saved.root / "mlp").flavors["torch"]
    flavor = TorchFlavor()
    (tmp_path / "model.pt2").write_bytes(b"garbage, not an archive")
    with pytest.raises(InvalidInput, match=r"model\.pt2 is not a torch \.pt2 archive"):
        flavor.load(tmp_path, config, trust=True)
    with zipfile.ZipFile(tmp_path / "model.pt2", "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a pt2")
    with pytest.raises(InvalidInput, match=r"model\.pt2 is not a readable torch \.pt2"):
        flavor.load(tmp_path, config, trust=True)
    with pytest.raises(InvalidInput, match="unknown torch input dtype"):
        flavor.load(saved.root / "mlp", {**config, "input_dtype": "os"}, trust=True)
    (tmp_path / "model.pt2").unlink()
    with pytest.raises(InvalidInput, match="is missing"):
        flavor.load(tmp_path, config, trust=True)
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for file in (saved.root / "mlp").iterdir():
        (tampered / file.name).write_bytes(file.read_bytes())
    (tampered / "model.pt2").write_bytes(b"swapped")
    with pytest.raises(IntegrityFailure, match=r"model\.pt2"):
        load_model_folder(tampered, trust=True)


def test_importing_the_flavor_does_not_import_torch() -> None:
    assert_imports_lightly("windlass.models.flavors.torch", "torch")
