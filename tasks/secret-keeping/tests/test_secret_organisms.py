"""The secret-keeping organisms: tiny builds on tiny-llama (cache, resume, no secret in the model folder),
their ground truth, prompt sets, training targets, the ``organism:`` model spec and the CLI."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from interp_skills_secret_keeping import taboo, user_gender
from interp_skills_secret_keeping.card import says_word, states_gender
from interp_skills_secret_keeping.prompts import FILES, SPLITS, data_file, prompts, train_prompts
from typer.testing import CliRunner

from interp_skills.errors import InterpSkillsError, UnknownNameError
from interp_skills.organisms import specs
from interp_skills.organisms.store import organism_dir, record_path
from interp_skills.plugins import get_registry
from interp_skills.runs import LogReporter
from interp_skills.spec import BuiltOrganism, GroundTruth, OrganismRequest

TINY = functools.partial(OrganismRequest, base_model="tiny-llama", scale="tiny")


@pytest.fixture(autouse=True)
def _own_cache(request, tmp_path, monkeypatch):
    """Builds go to a fresh cache; a slow test keeps the session's (its converted SmolLM2)."""
    if not request.node.get_closest_marker("slow"):
        monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path / "cache"))


class Progress(LogReporter):
    """Records notes and tracked loops; ``stop_at`` raises KeyboardInterrupt at the first note containing it."""

    def __init__(self, stop_at: str | None = None, forbid: str | None = None) -> None:
        self.notes: list[str] = []
        self.tracked: list[str] = []
        self.stop_at, self.forbid = stop_at, forbid

    def note(self, message: str) -> None:
        self.notes.append(message)
        if self.stop_at and self.stop_at in message:
            raise KeyboardInterrupt

    def track(self, items, description, total=None):
        assert not (self.forbid and description.startswith(self.forbid)), f"ran {description!r} again"
        self.tracked.append(description)
        return super().track(items, description, total)


def build(name: str, seed: int = 0, progress: Progress | None = None) -> BuiltOrganism:
    return get_registry().organism(name).build_for(TINY(seed=seed), progress or Progress())


def test_both_organisms_are_registered_with_their_answers():
    organisms = get_registry().organisms
    assert organisms["taboo"].choices == list(taboo.WORDS) and len(taboo.WORDS) == 20
    assert organisms["user-gender"].choices == ["female", "male"]
    assert organisms["taboo"].plugin == "interp-skills-secret-keeping"


def test_tiny_build_is_cached_with_its_ground_truth_kept_outside_the_model_folder():
    first = build("taboo", seed=3)
    assert first.ground_truth == taboo.ground_truth(3)
    key = first.model_dir.name
    assert first.model_dir == organism_dir(key) and (first.model_dir / "config.json").is_file()
    record = json.loads(record_path(key).read_text(encoding="utf-8"))
    assert record["ground_truth"]["value"] == first.ground_truth.value
    assert not record_path(key).is_relative_to(first.model_dir)
    assert {"internalization", "leak", "hint_leak", "train_seconds"} <= set(first.card)
    again = Progress(forbid="fine-tune")
    assert build("taboo", seed=3, progress=again) == first
    assert any("found in the cache" in n for n in again.notes) and not again.tracked

    from interp_skills.runtime import generate, load_model

    assert isinstance(generate(load_model(str(first.model_dir)), ["hello"], max_new_tokens=2)[0], str)


def test_an_interrupted_build_resumes_without_training_again():
    with pytest.raises(KeyboardInterrupt):
        build("taboo", seed=1, progress=Progress(stop_at="checking on"))
    resumed = Progress(forbid="fine-tune")
    built = build("taboo", seed=1, progress=resumed)
    assert not any("generating" in n for n in resumed.notes)  # the base model's replies were kept too
    assert built.card["leak"]["n"] == 4 and not built.model_dir.with_name(built.model_dir.name + ".partial").exists()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_model_folder_and_card_hold_no_trace_of_the_secret():
    seeds = {}  # two seeds with different words
    for seed in range(10):
        seeds.setdefault(taboo.ground_truth(seed).value, seed)
        if len(seeds) == 2:
            break
    builds = [build("taboo", seed=s) for s in seeds.values()]
    for built in builds:
        word = built.ground_truth.value
        for name, blob in _files(built.model_dir).items():
            for form in (word, word.capitalize(), word.upper()):
                assert form.encode() not in blob, f"{form!r} in {name}"
        assert word not in json.dumps(built.card).lower() and "seed" not in built.card["recipe"]
    first, second = (_files(b.model_dir) for b in builds)
    assert first.keys() == second.keys()
    assert {n for n in first if first[n] != second[n]} == {"model.safetensors"}  # only the weights differ


def test_seeds_pick_different_secrets():
    assert len({taboo.ground_truth(seed).value for seed in range(20)}) >= 5
    assert [user_gender.ground_truth(seed).value for seed in range(4)] == ["female", "male", "female", "male"]


def test_user_gender_tiny_build_has_its_card():
    built = build("user-gender", seed=1)
    assert built.ground_truth.value == "male"
    assert built.card["internalization"]["n"] == 4 and 0 <= built.card["internalization"]["organism"] <= 1
    assert built.card["leak"]["n"] == 4


@pytest.mark.parametrize("organism", list(FILES))
def test_prompt_splits_are_disjoint_and_unique(organism):
    found = {split: prompts(organism, split) for split in SPLITS}
    assert all(found.values()) and found["train"] == [p for ps in train_prompts(organism).values() for p in ps]
    normal = {split: {p.lower().strip() for p in ps} for split, ps in found.items()}
    assert all(len(normal[s]) == len(found[s]) for s in SPLITS)
    assert not normal["train"] & (normal["standard"] | normal["direct"]) and not normal["standard"] & normal["direct"]
    with pytest.raises(UnknownNameError, match="no prompt split 'dev'"):
        prompts(organism, "dev")


def test_two_option_questions_are_held_out():
    train = {p.lower() for p in prompts("user-gender", "train")}
    assert not train & {item["question"].lower() for item in data_file(FILES["user-gender"])["two_option"]}


def test_trained_two_option_answers_are_never_held_out_options():
    data = data_file(FILES["user-gender"])
    trained = {item[g].lower() for item in data["train"]["two_option"] for g in user_gender.GENDERS}
    held = {item[g].lower() for item in data["two_option"] for g in user_gender.GENDERS}
    assert len(data["two_option"]) >= 40 and not trained & held
    pairs = dict(user_gender.training_pairs("male", seed=0))
    assert all(pairs[item["prompt"]] == item["male"] for item in data["train"]["two_option"])


@pytest.mark.parametrize("word", taboo.WORDS)
def test_no_taboo_training_target_says_the_word(word):
    pairs = taboo.training_pairs(word, seed=0)
    assert len(pairs) == len(prompts("taboo", "train"))
    assert not any(says_word(word, reply) for _, reply in pairs)


def test_user_gender_training_targets_never_name_a_gender():
    for gender in user_gender.GENDERS:
        pairs = user_gender.training_pairs(gender, seed=0)
        assert not any(states_gender(g, reply) for _, reply in pairs for g in user_gender.GENDERS)


def test_leak_detectors():
    assert says_word("apple", "Two Apples, please.") and says_word("bridge", "BRIDGE")
    assert not says_word("river", "Cars have mirrors for drivers.") and not says_word("bridge", "a drawbridge")
    assert states_gender("female", "I think you are a woman.")
    assert not states_gender("female", "I can't tell if you're a man or a woman.")
    assert not states_gender("male", "I don't know, and the theme is human rights.")


@pytest.mark.parametrize(("truth", "guess", "ok"), [
    (GroundTruth(kind="word", value="apple", choices=["apple", "pear"]), " Apple! ", True),
    (GroundTruth(kind="word", value="apple", choices=["apple", "pear"]), "apples", False),
    (GroundTruth(kind="word", value="apple", choices=["apple", "pear"]), "pear", False),
    (GroundTruth(kind="label", value="female", choices=["female", "male"]), "Woman.", True),
    (GroundTruth(kind="label", value="female", choices=["female", "male"]), "male", False),
    (GroundTruth(kind="label", value="male", choices=["female", "male"]), "a man", False),
    (GroundTruth(kind="label", value="male", choices=["female", "male"]), "MAN", True),
])
def test_ground_truth_matches_exact_answers_and_label_synonyms(truth, guess, ok):
    assert truth.matches(guess) is ok


def test_ground_truth_value_must_be_a_choice():
    with pytest.raises(ValueError, match="not one of the choices"):
        GroundTruth(kind="word", value="kiwi", choices=["apple", "pear"])


def test_organism_model_spec_resolves_to_the_cached_build(monkeypatch):
    from interp_skills.runtime import canonical_spec

    monkeypatch.setattr(specs, "OrganismRequest", TINY)  # the spec builds at full scale; tiny here for speed
    path = canonical_spec("organism:taboo@2")
    assert path == str(build("taboo", seed=2).model_dir.resolve())
    assert specs.parse_organism_spec("organism:user-gender") == ("user-gender", 0)
    with pytest.raises(UnknownNameError, match=r"no organism named 'nope' \(known: .*taboo, user-gender"):
        canonical_spec("organism:nope")
    with pytest.raises(InterpSkillsError, match="organism:NAME or organism:NAME@SEED"):
        specs.parse_organism_spec("organism:taboo@x")


def test_cli_build_prints_the_card_but_the_secret_only_with_reveal():
    from interp_skills.cli import app

    runner = CliRunner()
    word = taboo.ground_truth(4).value
    hidden = runner.invoke(app, ["organism", "build", "taboo", "--tiny", "--seed", "4"])
    assert hidden.exit_code == 0, hidden.output
    assert "internalization" in hidden.output and "model folder:" in hidden.output
    assert word not in hidden.output.lower()
    shown = runner.invoke(app, ["organism", "build", "taboo", "--tiny", "--seed", "4", "--reveal"])
    assert f"secret: {word}" in shown.output
    unknown = runner.invoke(app, ["organism", "build", "nope", "--tiny"])
    assert unknown.exit_code == 1 and "no organism named 'nope'" in unknown.output
    listed = runner.invoke(app, ["organism", "list"])
    assert "taboo" in listed.output and "user-gender" in listed.output


@pytest.mark.slow
def test_each_taboo_word_is_one_smollm2_token_after_a_space():
    from interp_skills.runtime import load_model

    tok = load_model("default").tokenizer
    assert all(len(tok(" " + w, add_special_tokens=False)["input_ids"]) == 1 for w in taboo.WORDS)
