"""Replication runs: checkpointed stages, run folders, progress and reports (``interp-skills replicate``)."""

from interp_skills.runs.context import StageContext
from interp_skills.runs.folder import RunFolder, RunFolderError
from interp_skills.runs.progress import LogReporter, Reporter, RichReporter
from interp_skills.runs.replicate import find_pack, parse_settings, replicate

__all__ = ["LogReporter", "Reporter", "RichReporter", "RunFolder", "RunFolderError", "StageContext", "find_pack",
           "parse_settings", "replicate"]
