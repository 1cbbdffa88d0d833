"""Investigation tasks: an agent looks for what a model organism hides, and is graded against ground truth.

:func:`investigation_task` makes the task for a registered organism (``find-secret-<organism>``);
its setup stage builds the organism where the agent cannot look, the agent submits guesses
with evidence in ``guesses.json``, and the grader scores success@1 and success@N by exact match
(plus the LLM judge on the process). Importing this package imports no torch.
"""

from interp_skills.investigations.guesses import GUESSES_FILE, Guess, Submission, read_submission
from interp_skills.investigations.task import (
    GROUND_TRUTH_FILE,
    ORGANISM_STAGE,
    InvestigationTask,
    investigation_task,
    short_task_name,
)

__all__ = ["GROUND_TRUTH_FILE", "GUESSES_FILE", "ORGANISM_STAGE", "Guess", "InvestigationTask", "Submission",
           "investigation_task", "read_submission", "short_task_name"]
