import re

import pytest
import torch

from interp_skills.runtime import ArtifactNotFoundError, ArtifactStore


@pytest.fixture
def store(tmp_path, monkeypatch) -> ArtifactStore:
    """The default store (the cache's shared artifacts folder), in a cache of this test's own."""
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path))
    return ArtifactStore()


def test_round_trip_keeps_tensor_dtype_and_meta(store, tmp_path):
    tensor = torch.randn(3, 8).to(torch.bfloat16)
    meta = {"layer": 4, "model": "tiny-llama", "prompts": ["a", "b"]}
    artifact_id = store.save(tensor, meta)
    assert re.fullmatch(r"vec-[0-9a-f]{8}", artifact_id)
    loaded, loaded_meta = store.load(artifact_id)
    assert loaded.dtype == torch.bfloat16 and torch.equal(loaded, tensor)
    assert loaded_meta == meta
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == [
        f"{artifact_id}.json",
        f"{artifact_id}.safetensors",
    ]


def test_id_is_a_content_hash(store):
    tensor = torch.arange(6.0)
    first = store.save(tensor, {"k": 1})
    assert store.save(tensor.clone(), {"k": 1}) == first
    assert store.save(tensor, {"k": 2}) != first
    assert store.save(tensor + 1, {"k": 1}) != first
    assert store.save(tensor, {"k": 1}, prefix="dir").startswith("dir-")
    assert len(store.list()) == 4


def test_list_filters_by_prefix_and_describes_each(store):
    vec = store.save(torch.zeros(4), {"what": "steering"})
    direction = store.save(torch.ones(2, 4), {"what": "refusal"}, prefix="dir")
    assert [r["id"] for r in store.list("dir")] == [direction]
    (record,) = store.list("vec")
    assert record["id"] == vec and record["shape"] == [4] and record["dtype"] == "float32"
    assert record["meta"] == {"what": "steering"}
    assert store.list("sae") == []


def test_unknown_id_says_how_to_find_ids(store):
    with pytest.raises(ArtifactNotFoundError, match=r"'vec-00000000'.*session\.artifacts\.list\(\)"):
        store.load("vec-00000000")
    with pytest.raises(ArtifactNotFoundError, match=r"session\.artifacts\.list\(\)"):
        store.load("../../etc/passwd")


def test_bad_input_is_refused(store):
    with pytest.raises(ValueError, match="lowercase letters and digits"):
        store.save(torch.zeros(2), {}, prefix="Vec-1")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        store.save(torch.zeros(2), {"tensor": torch.zeros(2)})


def test_a_store_in_its_own_folder_keeps_its_artifacts_apart(store, tmp_path):
    own = ArtifactStore(tmp_path / "run" / "artifacts")
    artifact_id = own.save(torch.ones(3), {"k": 1})
    assert own.folder == tmp_path / "run" / "artifacts" and own.load(artifact_id)[1] == {"k": 1}
    assert store.list() == []
    with pytest.raises(ArtifactNotFoundError, match=re.escape(str(store.folder))):
        store.load(artifact_id)
