"""The organism kind in the kernel: registration, lookup, malformed registrations, what build_for checks."""

from __future__ import annotations

import sys
import types

import pytest

from interp_skills import hookimpl
from interp_skills.errors import UnknownNameError
from interp_skills.plugins import build_registry
from interp_skills.runs import LogReporter
from interp_skills.spec import BuiltOrganism, GroundTruth, Organism, OrganismRequest

ORGANISM = {"name": "toy-secret", "title": "Toy", "secret": "a secret word", "answer_kind": "word",
            "choices": ["red", "blue"], "build": "toy_organism_builds:build"}


def _registry(*organisms: dict) -> object:
    class Plugin:
        @hookimpl
        def register_organisms(self, register):
            for organism in organisms:
                register(organism)

    return build_registry(entrypoints=False, extra_plugins=(Plugin(),))


@pytest.fixture
def builds(monkeypatch, tmp_path):
    """A module the organisms' ``build`` strings name; ``returns`` sets what its build gives back."""
    module = types.ModuleType("toy_organism_builds")
    module.returns = None
    module.build = lambda request, progress: module.returns
    monkeypatch.setitem(sys.modules, "toy_organism_builds", module)
    return module


def test_a_registered_organism_is_looked_up_by_name_and_unknown_names_list_the_known():
    registry = _registry(ORGANISM)
    assert registry.organism("toy-secret").plugin == "Plugin" and "toy-secret" in registry.organisms
    with pytest.raises(UnknownNameError, match=r"no organism named 'nope' \(known: toy-secret\)"):
        registry.organism("nope")


def test_a_malformed_organism_is_a_plugin_problem_not_a_crash():
    registry = _registry({**ORGANISM, "build": "not a path"})
    assert registry.organisms == {}
    assert any("malformed organism in register_organisms: build" in p.problem for p in registry.problems)


def test_build_for_imports_the_build_and_checks_what_it_returns(builds, tmp_path):
    organism = Organism(**ORGANISM)
    truth = GroundTruth(kind="word", value="red", choices=["red", "blue"])
    builds.returns = BuiltOrganism(name="toy-secret", model_dir=tmp_path, ground_truth=truth)
    assert organism.build_for(OrganismRequest(seed=1), LogReporter()).ground_truth == truth
    builds.returns = BuiltOrganism(name="other", model_dir=tmp_path, ground_truth=truth)
    with pytest.raises(TypeError, match="expected a BuiltOrganism named 'toy-secret'"):
        organism.build_for(OrganismRequest(), LogReporter())


def test_requests_reject_unknown_scales_and_negative_seeds():
    with pytest.raises(ValueError):
        OrganismRequest(scale="huge")
    with pytest.raises(ValueError):
        OrganismRequest(seed=-1)
