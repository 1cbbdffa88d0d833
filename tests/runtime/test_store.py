import re

import pytest
import torch

from interp_skills.runtime import ArtifactNotFoundError, list_artifacts, load_artifact, save_artifact


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path))


def test_round_trip_keeps_tensor_dtype_and_meta(tmp_path):
    tensor = torch.randn(3, 8).to(torch.bfloat16)
    meta = {"layer": 4, "model": "tiny-llama", "prompts": ["a", "b"]}
    artifact_id = save_artifact(tensor, meta)
    assert re.fullmatch(r"vec-[0-9a-f]{8}", artifact_id)
    loaded, loaded_meta = load_artifact(artifact_id)
    assert loaded.dtype == torch.bfloat16 and torch.equal(loaded, tensor)
    assert loaded_meta == meta
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == [
        f"{artifact_id}.json",
        f"{artifact_id}.safetensors",
    ]


def test_id_is_a_content_hash():
    tensor = torch.arange(6.0)
    first = save_artifact(tensor, {"k": 1})
    assert save_artifact(tensor.clone(), {"k": 1}) == first
    assert save_artifact(tensor, {"k": 2}) != first
    assert save_artifact(tensor + 1, {"k": 1}) != first
    assert save_artifact(tensor, {"k": 1}, prefix="dir").startswith("dir-")
    assert len(list_artifacts()) == 4


def test_list_filters_by_prefix_and_describes_each():
    vec = save_artifact(torch.zeros(4), {"what": "steering"})
    direction = save_artifact(torch.ones(2, 4), {"what": "refusal"}, prefix="dir")
    assert [r["id"] for r in list_artifacts("dir")] == [direction]
    (record,) = list_artifacts("vec")
    assert record["id"] == vec and record["shape"] == [4] and record["dtype"] == "float32"
    assert record["meta"] == {"what": "steering"}
    assert list_artifacts("sae") == []


def test_unknown_id_says_how_to_find_ids():
    with pytest.raises(ArtifactNotFoundError, match=r"'vec-00000000'.*list_artifacts\(\)"):
        load_artifact("vec-00000000")
    with pytest.raises(ArtifactNotFoundError, match="list_artifacts"):
        load_artifact("../../etc/passwd")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="lowercase letters and digits"):
        save_artifact(torch.zeros(2), {}, prefix="Vec-1")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_artifact(torch.zeros(2), {"tensor": torch.zeros(2)})
