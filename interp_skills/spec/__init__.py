"""The kernel's types: what a plugin declares and what the runner joins.

=============  ===================================================================
technique      :class:`Technique` and its :class:`Tool` s (``spec.technique``)
renderer       :class:`Renderer`: ``render`` files, ``mount`` for an agent (``spec.renderer``)
session        :class:`Session`: models by role, artifacts, a :class:`Scope` (``spec.session``)
mount          :class:`Mount`: what a format hands a harness (``spec.mount``)
harness        :class:`Harness`: connects an agent to a mount (``spec.harness``)
environment    :class:`Environment`: where code runs; opens sessions (``spec.environment``)
task           :class:`Task`, :class:`PaperPack`, :class:`Stage`, :class:`Claim` (``spec.task``)
organism       :class:`Organism`, :class:`OrganismRequest`, :class:`BuiltOrganism`, :class:`GroundTruth`
autorater      :class:`Autorater`: flags malicious prompts, one :class:`Flag` each (``spec.autorater``)
=============  ===================================================================

Importing this package imports no torch.
"""

from interp_skills.spec.autorater import Autorater, Flag
from interp_skills.spec.claims import Claim
from interp_skills.spec.environment import Environment, OpenRequest, ReplicateRequest, ReplicateResult, StageRequest
from interp_skills.spec.harness import AgentOutcome, Asker, Harness, HarnessRun, Limits, StopReason, Vocabulary
from interp_skills.spec.mount import SKILLS_DIR, McpServer, Mount, MountRequest
from interp_skills.spec.naming import NAME_PATTERN, TOOL_NAME_PATTERN, SkillName, check_name, find_named
from interp_skills.spec.organism import BuiltOrganism, GroundTruth, Organism, OrganismRequest
from interp_skills.spec.renderer import Renderer, RenderResult
from interp_skills.spec.session import TARGET, CallLimits, Scope, ScopeError, Session, limit_flag
from interp_skills.spec.task import Needs, PaperPack, Stage, Task
from interp_skills.spec.technique import Reference, Requirements, Technique, Tool, Verification, WritePath

__all__ = [
    "NAME_PATTERN", "SKILLS_DIR", "TARGET", "TOOL_NAME_PATTERN", "AgentOutcome", "Asker", "Autorater", "BuiltOrganism",
    "CallLimits", "Claim", "Environment", "Flag", "GroundTruth", "Harness", "HarnessRun", "Limits", "McpServer",
    "Mount", "MountRequest", "Needs", "OpenRequest", "Organism", "OrganismRequest",
    "PaperPack", "Reference", "RenderResult", "Renderer", "ReplicateRequest", "ReplicateResult", "Requirements",
    "Scope", "ScopeError", "Session", "SkillName", "Stage", "StageRequest", "StopReason", "Task", "Technique", "Tool",
    "Verification", "Vocabulary", "WritePath", "check_name", "find_named", "limit_flag",
]
