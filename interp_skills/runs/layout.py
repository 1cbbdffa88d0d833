"""The one run-folder layout, shared by ``replicate`` and agent runs. Every file name is defined here.

::

    RUN_DIR/config.json       what was run: task, model(s), settings, seed, versions, the command
    RUN_DIR/task.md           the prompt an agent got (agent runs)
    RUN_DIR/setup/            a task's setup stages, hidden from the agent (agent runs)
    RUN_DIR/stages/           checkpointed stage results and their files (replicate)
    RUN_DIR/workspace/        the agent's working folder (agent runs)
    RUN_DIR/events.jsonl      every event, redacted (agent runs)
    RUN_DIR/transcript.md     the same, readable
    RUN_DIR/metrics.json      the numbers; report.md what a person reads first
    RUN_DIR/agent.json        how an agent run stopped, turns, cost, wall time
    RUN_DIR/logs/             stderr of the MCP servers an agent harness started (agent runs)
    RUN_DIR/claims.json, rubric.toml, verdict.json   what was graded, how, and the verdict
    RUN_DIR/audit-conversation.json, transcript-audit.md   an audit's target conversation (``interp-skills audit``)
"""

from __future__ import annotations

CONFIG_FILE = "config.json"
TASK_FILE = "task.md"
SETUP_DIR = "setup"
STAGES_DIR = "stages"
WORKSPACE_DIR = "workspace"
EVENTS_FILE = "events.jsonl"
TRANSCRIPT_FILE = "transcript.md"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
AGENT_FILE = "agent.json"
LOGS_DIR = "logs"
CLAIMS_FILE = "claims.json"
RUBRIC_FILE = "rubric.toml"
VERDICT_FILE = "verdict.json"
AUDIT_CONVERSATION_FILE = "audit-conversation.json"
AUDIT_TRANSCRIPT_FILE = "transcript-audit.md"
RESULT_FILES = (METRICS_FILE, REPORT_FILE)
