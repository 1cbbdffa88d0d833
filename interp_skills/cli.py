"""The ``interp-skills`` command line. Importing it never imports torch; techniques do, when they run."""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Column, Table

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import check_output_folder
from interp_skills.plugins import add_commands, get_registry
from interp_skills.session_flags import ROLE_HELP
from interp_skills.spec import CallLimits


class _App(typer.Typer):
    """A Typer app whose commands turn an InterpSkillsError into a one-line error and exit code 1."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(func)
            def run(*a: Any, **k: Any) -> Any:
                try:
                    return func(*a, **k)
                except InterpSkillsError as exc:
                    fail(str(exc))

            register(run)
            return func

        return decorate


app = _App(
    help="Tested interpretability techniques for AI agents: list, add as skills, serve over MCP, run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
mcp_app = _App(help="Serve techniques as MCP tools, or register the server with a project.", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")
modal_app = _App(help="Run techniques on Modal GPUs: plan the cost, deploy the worker.", no_args_is_help=True)
app.add_typer(modal_app, name="modal")
registry_app = _App(help="The plugin catalogue's generated files (directory page, marketplace).",
                    no_args_is_help=True)
app.add_typer(registry_app, name="registry")
agent_app = _App(help="Hand a task to an AI agent (Claude Code, an API loop or a plugin harness) and rate its run.",
                 no_args_is_help=True)
app.add_typer(agent_app, name="agent")
out = Console()
err = Console(stderr=True)
_CALL_LIMITS = CallLimits()  # the defaults of the --max-... flags


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, on one line (the terminal wraps it), brackets kept: ``[judge]`` is no markup."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    print_error(message)
    raise typer.Exit(code)


def report_problems() -> None:
    from rich.markup import escape

    for p in get_registry().problems:
        what = "skipped plugin" if p.skipped else "slow plugin"
        err.print(f"[yellow]{what} {escape(p.plugin)}:[/yellow] {escape(p.problem)}. Fix: {escape(p.fix)}",
                  highlight=False, soft_wrap=True)


def _techniques(names: list[str]):
    registry = get_registry()
    return [registry.technique(n) for n in names] if names else list(registry.techniques.values())


def _list_row(kind: str, item: Any) -> dict[str, Any]:
    """One `list --json` row: name, kind, version, provenance, summary; a task's kind, a technique's tools."""
    row = {"name": item.name, "kind": kind, "version": getattr(item, "version", item.plugin_version),
           "plugin": item.plugin, "plugin_version": item.plugin_version,
           "summary": getattr(item, "summary", "") or getattr(item, "title", "")}
    if kind == "task":
        row["task_kind"] = item.kind
    if kind == "technique":
        row["tools"] = [{"name": tool.name, "summary": tool.summary, "input_schema": tool.input_schema}
                        for tool in item.tools]
    return row


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="print JSON, with each technique's tools")] = False
          ) -> None:
    """List installed techniques, renderers (formats), environments, harnesses and tasks; report broken plugins."""
    registry = get_registry()
    rows = [_list_row(kind, item) for kind, items in registry.items.items() for item in items.values()]
    report_problems()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    widest = max((len(row["name"]) for row in rows), default=4)  # nothing is cut: plugin and summary wrap
    table = Table(Column("name", no_wrap=True, min_width=widest), Column("kind", no_wrap=True),
                  Column("version", no_wrap=True), Column("plugin", overflow="fold"),
                  Column("summary", ratio=1, overflow="fold"), box=box.SIMPLE_HEAD, pad_edge=False)
    for row in rows:
        kind = f"task ({row['task_kind']})" if row["kind"] == "task" else row["kind"]
        table.add_row(row["name"], kind, row["version"], row["plugin"], _first_sentence(row["summary"]))
    out.print(table)


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence ('e.g.' and 'i.e.' do not)."""
    return re.split(r"(?<!e\.g)(?<!i\.e)\.\s", text, maxsplit=1)[0]


@app.command()
def show(name: str) -> None:
    """Show a technique: summary, tools with their parameters, and the guide."""
    t = _techniques([name])[0]
    out.print(f"[bold]{t.name}[/bold] {t.version}  (plugin {t.plugin} {t.plugin_version})")
    out.print(t.summary, highlight=False, markup=False)
    for tool in t.tools:
        out.print(f"\n[bold cyan]{tool.name}[/bold cyan]: {escape(tool.summary)}", highlight=False)
        props = tool.input_schema.get("properties", {})
        for pname, prop in props.items():
            default = f" = {json.dumps(prop['default'])}" if "default" in prop else " (required)"
            out.print(f"  --{pname.replace('_', '-')}{default}  {prop.get('description', '')}", highlight=False,
                      markup=False)
    for v in t.verified:
        out.print(f"\nverified on {v.model} ({v.date}, v{v.technique_version}): {v.result}", highlight=False,
                  markup=False)
    out.print(Markdown(t.guide))


@app.command()
def add(
    names: Annotated[list[str], typer.Argument(help="technique names")],
    dest: Annotated[Path, typer.Option(help="skills directory")] = Path(".claude/skills"),
    force: Annotated[bool, typer.Option(help="replace files you edited")] = False,
) -> None:
    """Write techniques as Agent Skills folders (default .claude/skills), tracked in a lock file."""
    from interp_skills.skill_install import Lock, add_skill

    techniques = _techniques(names)
    check_output_folder(dest, "--dest")
    lock = Lock.read(dest)
    for t in techniques:
        result = add_skill(t, dest, lock, force=force)
        lock.write()
        state = "up to date" if not result.written else f"{len(result.written)} file(s) written"
        kept = f"; kept your edited file(s): {', '.join(result.kept)} (--force replaces them)" if result.kept else ""
        out.print(f"{t.name} {t.version} -> {dest / t.name} ({state}){kept}", highlight=False, markup=False)


@app.command()
def remove(
    names: Annotated[list[str], typer.Argument(help="skill names")],
    dest: Annotated[Path, typer.Option(help="skills directory")] = Path(".claude/skills"),
    force: Annotated[bool, typer.Option(help="also delete files you edited")] = False,
) -> None:
    """Remove skill folders that `add` wrote; files you added or edited are kept unless --force."""
    from interp_skills.skill_install import Lock, remove_skill

    lock = Lock.read(dest)
    for name in names:
        left = remove_skill(name, dest, lock, force=force)
        lock.write()
        out.print(f"removed {name}" + (f"; kept your files: {', '.join(left)}" if left else ""), highlight=False,
                  markup=False)


@app.command()
def render(
    names: Annotated[list[str], typer.Argument(help="technique names (none = all)")] = [],  # noqa: B006
    format: Annotated[str, typer.Option("--format", "-f", help="skill, mcp, notebook or prompt")] = "skill",
    out_dir: Annotated[Path, typer.Option("--out", help="output directory")] = Path("rendered"),
) -> None:
    """Render techniques in one format into a directory."""
    registry = get_registry()
    techniques = _techniques(names)
    renderer = registry.get("renderer", format)
    check_output_folder(out_dir, "--out")
    try:
        result = renderer.render(techniques, out_dir)
    except InterpSkillsError:
        raise
    except Exception as exc:  # a broken renderer gets a one-line error naming it, not a traceback
        fail(f"renderer {renderer.name} failed: {type(exc).__name__}: {exc} (renderer from {renderer.plugin}; "
             "fix or uninstall that plugin)")
    for path in result.files:
        out.print(path, highlight=False, markup=False)
    err.print(result.message, highlight=False, markup=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def run(ctx: typer.Context, technique: str, tool: str) -> None:
    """Run one tool: `interp-skills run TECHNIQUE TOOL --param value ...` (add --help for its flags)."""
    from interp_skills.scripting import run_tool_cli

    raise typer.Exit(run_tool_cli(technique, tool, ctx.args, prog=f"interp-skills run {technique} {tool}"))


@mcp_app.command("serve")
def mcp_serve(
    technique: Annotated[Optional[list[str]], typer.Option(help="technique to serve (repeat; default all)")] = None,
    model: Annotated[Optional[str], typer.Option(help="target model: alias, Hugging Face id or path")] = None,
    role: Annotated[Optional[list[str]], typer.Option(help=ROLE_HELP)] = None,
    backend: Annotated[str, typer.Option(help="environment the tools run in: local, modal or an installed one")
                       ] = "local",
    max_new_tokens: Annotated[int, typer.Option(min=1, help="largest max_new_tokens a call may ask for")
                              ] = _CALL_LIMITS.max_new_tokens,
    max_prompts: Annotated[int, typer.Option(min=1, help="most prompts in one call")] = _CALL_LIMITS.max_prompts,
    max_prompt_chars: Annotated[int, typer.Option(min=1, help="longest prompt, in characters")
                                ] = _CALL_LIMITS.max_prompt_chars,
    max_call_tokens: Annotated[int, typer.Option(min=1, help="most tokens one call may run through the model "
                               "(prompt characters / 3 plus max_new_tokens, per prompt and pass)")
                               ] = _CALL_LIMITS.max_call_tokens,
    gpu: Annotated[Optional[str], typer.Option(help="GPU type for a remote environment, e.g. A10, H100!")] = None,
    dry_run: Annotated[bool, typer.Option(help="print the environment's plan (GPU, downloads, cost), start nothing")
                       ] = False,
    allow_write: Annotated[Optional[list[Path]], typer.Option(
        "--allow-write", help="folder tools may write into (repeat); default: the artifact folder and ./runs")] = None,
) -> None:
    """Run an MCP server over stdio whose tools are the techniques' tools (each model loads once)."""
    from interp_skills.render.mcp_serve import serve
    from interp_skills.session_flags import parse_roles, plan_session
    from interp_skills.spec import CallLimits, OpenRequest, Scope

    models = parse_roles(model, role or [])
    scope = Scope(limits=CallLimits(max_new_tokens=max_new_tokens, max_prompts=max_prompts,
                                    max_prompt_chars=max_prompt_chars, max_call_tokens=max_call_tokens),
                  write_dirs=allow_write)
    options = {"gpu": gpu} if gpu else {}
    if dry_run:
        print(plan_session(backend, OpenRequest(_techniques(technique or []), models, scope, options)))
        return
    serve(technique or [], models=models, scope=scope, environment=backend, options=options)


@mcp_app.command("install")
def mcp_install(
    technique: Annotated[Optional[list[str]], typer.Option(help="technique to serve (repeat; default all)")] = None,
    model: Annotated[Optional[str], typer.Option(help="target model: alias, Hugging Face id or path")] = None,
    role: Annotated[Optional[list[str]], typer.Option(help=ROLE_HELP)] = None,
    project_dir: Annotated[Path, typer.Option(help="project whose .mcp.json to update")] = Path("."),
    name: Annotated[str, typer.Option(help="server name in .mcp.json")] = "interp-skills",
) -> None:
    """Add the MCP server to the project's .mcp.json and print the equivalent `claude mcp add` line."""
    from interp_skills.render.mcp import install_config
    from interp_skills.session_flags import parse_roles

    models = parse_roles(model, role or [])
    names = [t.name for t in _techniques(technique or [])]
    check_output_folder(project_dir, "--project-dir")
    path, claude_line = install_config(project_dir, names, models, server_name=name)
    out.print(f"added server {name!r} to {path}", highlight=False, markup=False)
    out.print(f"equivalent: {claude_line}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="technique (or task) name, e.g. logit-lens")],
    task: Annotated[bool, typer.Option("--task", help="scaffold a task plugin (prompt, techniques, claims)")] = False,
    environment: Annotated[bool, typer.Option(
        "--environment", help="scaffold a persona environment (simulated user, turn budget, rubric)")] = False,
    directory: Annotated[Path, typer.Option("--dir", help="where to create the package folder")] = Path("."),
) -> None:
    """Scaffold an installable plugin package: a technique (code, guide, test), a task (--task) or a persona
    environment (--environment)."""
    from interp_skills.scaffold import next_steps, scaffold

    if task and environment:
        fail("pass --task or --environment, not both")
    kind = "persona" if environment else "task" if task else "technique"
    check_output_folder(directory, "--dir")
    try:
        folder = scaffold(name, directory, kind)
    except ValueError as exc:  # an invalid name
        fail(str(exc))
    out.print(f"created {folder}\nnext: {next_steps(folder, name, kind)}", markup=False, highlight=False,
              soft_wrap=True)


@app.command("search")
def search_(term: Annotated[str, typer.Argument(help="word to look for in names, summaries and tags")]) -> None:
    """Search the catalogue of known plugins (installed or not)."""
    from interp_skills.catalogue import search

    installed = set(get_registry().techniques) | set(get_registry().tasks)
    found = search(term)
    if not found:
        fail(f"nothing in the catalogue matches {term!r}")
    table = Table("name", "kind", "package", "status", "installed", "summary")
    for e in found:
        table.add_row(e.name, e.kind, e.package, e.status, "yes" if e.name in installed else "no", e.summary)
    out.print(table)


@app.command()
def install(name: Annotated[str, typer.Argument(help="catalogue name or package")]) -> None:
    """pip-install a catalogued plugin into this environment."""
    from interp_skills.catalogue import editable_source
    from interp_skills.catalogue import install as pip_install

    entry, command = pip_install(name)
    if not command:
        out.print(f"{entry.package} is already installed editable from {editable_source(entry.package)}; left as "
                  f"it is. Try `interp-skills show {entry.name}`", highlight=False, markup=False)
        return
    out.print(f"installed {entry.package} ({' '.join(command)}); try `interp-skills show {entry.name}`",
              highlight=False)


@modal_app.command("plan")
def modal_plan(
    technique: Annotated[Optional[list[str]], typer.Option(help="technique (repeat; default all)")] = None,
    model: Annotated[Optional[str], typer.Option(help="Hugging Face id to run")] = None,
    gpu: Annotated[Optional[str], typer.Option(help="GPU type, e.g. A10, L40S, H100!")] = None,
    hours: Annotated[float, typer.Option(help="hours of container time to price")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the image recipe, GPU, downloads and estimated cost of running on Modal (no token needed)."""
    from interp_skills.environments.modal.environment import plan_session
    from interp_skills.spec import OpenRequest

    request = OpenRequest(_techniques(technique or []), models={"target": model}, options={"gpu": gpu} if gpu else {})
    print(plan_session(request, hours=hours, as_json=as_json))


@modal_app.command("deploy")
def modal_deploy(
    technique: Annotated[Optional[list[str]], typer.Option(help="technique (repeat; default all)")] = None,
    gpu: Annotated[Optional[str], typer.Option(help="GPU type, e.g. A10, L40S, H100!")] = None,
) -> None:
    """Deploy the worker App so later calls skip the start-up (needs a Modal token)."""
    from interp_skills.environments.modal.client import deploy_app
    from interp_skills.environments.modal.settings import ModalSettings

    name = deploy_app(_techniques(technique or []), ModalSettings.from_env(gpu=gpu))
    print(f"export INTERP_SKILLS_MODAL_DEPLOYMENT={name}")


@registry_app.command("build")
def registry_build(
    root: Annotated[Path, typer.Option(help="repository root to write into")] = Path("."),
) -> None:
    """Regenerate registry/README.md, registry/plugins/ and .claude-plugin/marketplace.json."""
    from interp_skills.catalogue.build import build

    written = build(root, get_registry())
    out.print(f"wrote {len(written)} files under {root}", highlight=False, markup=False)


@app.command()
def replicate(
    pack: Annotated[str, typer.Argument(help="paper pack name (see `interp-skills list`)")],
    model: Annotated[Optional[str], typer.Option(help="model alias, Hugging Face id or path; default: the pack's")
                     ] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="run folder; default runs/<pack>-<model>. An "
                                                    "existing run folder with the same options is resumed")] = None,
    backend: Annotated[str, typer.Option(help="environment to run in: local, modal (the whole pipeline on a Modal "
                                         "GPU) or one a plugin adds")] = "local",
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="pack setting KEY=VALUE (repeat)")] = None,
    seed: Annotated[int, typer.Option(help="random seed (stage i uses seed*1000+i)")] = 0,
    judge: Annotated[Optional[str], typer.Option(help="Anthropic model for the LLM judge (needs ANTHROPIC_API_KEY)")
                     ] = None,
    gpu: Annotated[Optional[str], typer.Option(help="with a remote --backend: GPU type, e.g. A10G, H100!")] = None,
    dry_run: Annotated[bool, typer.Option(help="with a remote --backend: print the plan and cost, start nothing")
                       ] = False,
) -> None:
    """Replicate a paper: run the pack's stages (checkpointed), then write metrics, figure, report and verdict."""
    from interp_skills.runs import RichReporter, find_pack
    from interp_skills.runs.layout import REPORT_FILE
    from interp_skills.session_flags import check_model_spec
    from interp_skills.spec import ReplicateRequest

    check_model_spec(model)
    registry = get_registry()
    environment = registry.get("environment", backend)
    request = ReplicateRequest(pack=find_pack(pack), model=model, out=out_dir, settings=set_ or [], seed=seed,
                               judge=judge, options={"gpu": gpu} if gpu else {})
    if dry_run:
        if environment.plan_replicate is None:
            planners = sorted(e.name for e in registry.environments.values() if e.plan_replicate is not None)
            fail(f"--dry-run and --gpu plan a remote run; use them with --backend "
                 f"{' or '.join(planners) or '(none installed)'} (the {environment.name} environment has no dry run)")
        print(environment.plan_replicate(request))
        return
    if environment.replicate is None:
        runners = sorted(e.name for e in registry.environments.values() if e.replicate is not None)
        fail(f"the {environment.name} environment cannot run a replication; use --backend {' or '.join(runners)}")
    request.reporter = RichReporter()
    result = environment.replicate(request)
    out.print(result.summary, highlight=False, markup=False)
    out.print(f"run folder: {result.run_dir} (read {result.run_dir / REPORT_FILE})", highlight=False, markup=False)
    raise typer.Exit(1 if result.summary.startswith("FAIL") else 0)  # as `rate` does: a required claim failed


@app.command()
def rate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder (config.json, metrics.json, report.md, ...)")],
    judge: Annotated[Optional[str], typer.Option(help="Anthropic model for the LLM judge (needs ANTHROPIC_API_KEY)")
                     ] = None,
    claims: Annotated[Optional[Path], typer.Option(help="claims file; default: the run's claims.toml/.json")] = None,
    rubric: Annotated[Optional[str], typer.Option(help="built-in rubric name or .toml path")] = None,
    samples: Annotated[int, typer.Option(min=1, help="judge samples combined per dimension")] = 3,
) -> None:
    """Re-rate an existing run against its claims, optionally with the LLM judge; writes verdict.json."""
    from interp_skills.rating import rerate

    verdict = rerate(run_dir, judge, claims_file=claims, rubric=rubric, samples=samples)
    out.print(verdict.summary, highlight=False, markup=False)
    out.print(f"wrote {run_dir / 'verdict.json'}", highlight=False, markup=False)
    raise typer.Exit(1 if verdict.outcome == "fail" else 0)


@app.command()
def doctor() -> None:
    """Check every installed plugin and that each technique renders in every format."""
    from interp_skills.doctor import run_checks

    failures = 0
    for check in run_checks(get_registry()):
        mark = "[green]ok[/green]" if check.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {escape(check.subject)}: {escape(check.detail)}", highlight=False)
        failures += not check.ok
    if failures:
        fail(f"{failures} check(s) failed")


_AGENT_HELP = {
    "harness": "claude-code (Claude Code headless), api (a plain Anthropic tool-use loop) or a plugin's harness",
    "technique": "technique to hand the agent (repeat); replaces the task's own list",
    "model": "the agent's model (Anthropic id; Claude Code also takes sonnet/opus); default: the harness's",
    "max_turns": "stop after this many model responses",
    "budget_usd": "stop once the run has spent this many US dollars",
    "no_budget": "no spending limit (the turn and time limits still apply)",
    "timeout": "stop after this many seconds of wall clock",
    "interp_model": "the model the techniques run on; default: the task's target model",
    "judge": "Anthropic model for the LLM judge of the run (needs ANTHROPIC_API_KEY); default: claims only",
}


def _agent_options(fmt: str, harness: str, techniques: Optional[list[str]], model: Optional[str], max_turns: int,
                   budget_usd: float, no_budget: bool, timeout: float, checkpoint: str, interp_model: Optional[str],
                   judge: Optional[str]):
    from pydantic import ValidationError

    from interp_skills.agents import AgentRunOptions
    from interp_skills.spec import Limits

    try:
        limits = Limits(max_turns=max_turns, budget_usd=None if no_budget else budget_usd, timeout_s=timeout)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    return AgentRunOptions(format=fmt, harness=harness, techniques=techniques or [], model=model, limits=limits,
                           checkpoint=checkpoint, interp_model=interp_model, judge=judge)


def _ask_person(stage: str, summary: str) -> str:
    out.rule(f"checkpoint after stage {stage}")
    out.print(summary, highlight=False, markup=False)
    return typer.prompt("Your reply to the agent (Enter: carry on as planned)", default="", show_default=False)


@agent_app.command("run")
def agent_run(
    task: Annotated[str, typer.Argument(help="task name, a paper pack or any other (see `interp-skills list`)")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="how the agent gets the techniques: skill, mcp, prompt, "
                                     "notebook or a plugin's format")],
    harness: Annotated[str, typer.Option("--harness", "--agent", help=_AGENT_HELP["harness"])] = "claude-code",
    technique: Annotated[Optional[list[str]], typer.Option("--technique", help=_AGENT_HELP["technique"])] = None,
    model: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["model"])] = None,
    max_turns: Annotated[int, typer.Option(help=_AGENT_HELP["max_turns"])] = 40,
    budget_usd: Annotated[float, typer.Option(help=_AGENT_HELP["budget_usd"])] = 5.0,
    no_budget: Annotated[bool, typer.Option("--no-budget", help=_AGENT_HELP["no_budget"])] = False,
    timeout: Annotated[float, typer.Option(help=_AGENT_HELP["timeout"])] = 3600,
    checkpoint: Annotated[str, typer.Option(help="none, or ask: pause at the task's checkpoints for your reply")
                          ] = "none",
    interp_model: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["interp_model"])] = None,
    judge: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["judge"])] = None,
    backend: Annotated[str, typer.Option(help="where the tools run: local, or modal (the agent still runs here)")
                       ] = "local",
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="new run folder; default runs/agent-<task>-...")
                       ] = None,
) -> None:
    """Run an agent on a task; writes a run folder with transcript, results and verdict.

    Exit code 0 when the agent finished, 3 when a limit stopped it or it ended without results.
    """
    from interp_skills.agents import describe, run_agent
    from interp_skills.agents.processes import ending_children_on_signals

    options = _agent_options(fmt, harness, technique, model, max_turns, budget_usd, no_budget, timeout, checkpoint,
                             interp_model, judge).model_copy(update={"backend": backend})
    with ending_children_on_signals():  # SIGTERM/SIGINT: the agent's process groups go down with us
        run = run_agent(task, options, out=out_dir, ask=_ask_person)
    out.print(describe(run), highlight=False, markup=False)
    raise typer.Exit(0 if run.outcome.stop == "done" else 3)


@agent_app.command("compare")
def agent_compare(
    task: Annotated[str, typer.Argument(help="task name, a paper pack or any other (see `interp-skills list`)")],
    formats: Annotated[str, typer.Option(help="comma-separated formats to compare")] = "skill,mcp,prompt",
    repeats: Annotated[int, typer.Option(min=1, help="runs per format")] = 1,
    harness: Annotated[str, typer.Option("--harness", "--agent", help=_AGENT_HELP["harness"])] = "claude-code",
    technique: Annotated[Optional[list[str]], typer.Option("--technique", help=_AGENT_HELP["technique"])] = None,
    model: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["model"])] = None,
    max_turns: Annotated[int, typer.Option(help=_AGENT_HELP["max_turns"])] = 40,
    budget_usd: Annotated[float, typer.Option(help=_AGENT_HELP["budget_usd"] + " (per run)")] = 5.0,
    no_budget: Annotated[bool, typer.Option("--no-budget", help=_AGENT_HELP["no_budget"])] = False,
    timeout: Annotated[float, typer.Option(help=_AGENT_HELP["timeout"] + " (per run)")] = 3600,
    interp_model: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["interp_model"])] = None,
    judge: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["judge"])] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="new folder; default runs/compare-<task>-...")
                       ] = None,
) -> None:
    """Run the task once per format (and repeat); print and save a table and a plot."""
    from interp_skills.agents.compare import COLUMNS, compare, parse_formats, table_rows

    chosen = parse_formats(formats)
    options = _agent_options(chosen[0], harness, technique, model, max_turns, budget_usd, no_budget, timeout, "none",
                             interp_model, judge)
    result = compare(task, chosen, options, repeats=repeats, out=out_dir)
    table = Table(*COLUMNS, title=f"{task}: {harness}")
    for cells in table_rows(result.summary):
        table.add_row(*cells)
    out.print(table)
    saved = ["compare.json", "compare.md"] + (["compare.png"] if result.plot else [])
    out.print(f"saved in {result.out}: {', '.join(saved)}", highlight=False, markup=False)


def _seeds(text: Optional[str]) -> Optional[list[int]]:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail(f"--seeds {text!r} is not a comma-separated list of whole numbers, e.g. --seeds 0,1")


LOCAL_CONCURRENCY, REMOTE_CONCURRENCY = 2, 8  # agent matrix runs at once: models loaded here, or remotely


@agent_app.command("matrix")
def agent_matrix(
    tasks: Annotated[str, typer.Option(help="comma-separated investigation tasks (taboo = find-secret-taboo)")],
    techniques: Annotated[str, typer.Option(help="comma-separated techniques, one cell each; a+b mounts both")],
    formats: Annotated[str, typer.Option(help="comma-separated formats")] = "skill,mcp",
    repeats: Annotated[int, typer.Option(min=1, help="runs per cell")] = 1,
    harness: Annotated[str, typer.Option("--harness", "--agent", help=_AGENT_HELP["harness"])] = "claude-code",
    concurrency: Annotated[Optional[int], typer.Option(
        min=1, help=f"runs at once; default {LOCAL_CONCURRENCY} with --backend local (each run loads the model "
        f"here), {REMOTE_CONCURRENCY} with a remote one (the tools run there; only the agents run here)")] = None,
    backend: Annotated[str, typer.Option(help="where the tools run: local, or modal (the agents still run here; "
                                         "each organism is uploaded once; needs a Modal token)")] = "local",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the runs and where they would run; run nothing")
                       ] = False,
    model: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["model"])] = None,
    max_turns: Annotated[int, typer.Option(help=_AGENT_HELP["max_turns"])] = 40,
    budget_usd: Annotated[float, typer.Option(help=_AGENT_HELP["budget_usd"] + " (per run)")] = 5.0,
    no_budget: Annotated[bool, typer.Option("--no-budget", help=_AGENT_HELP["no_budget"])] = False,
    timeout: Annotated[float, typer.Option(help=_AGENT_HELP["timeout"] + " (per run)")] = 3600,
    judge: Annotated[Optional[str], typer.Option(help=_AGENT_HELP["judge"])] = None,
    reference_prompts: Annotated[Optional[int], typer.Option(min=1, help="prompts per split for the reference "
                                                             "auditors; default: all the organism's")] = None,
    seeds: Annotated[Optional[str], typer.Option(help="comma-separated organism seeds, one per repeat in turn "
                                                 "(e.g. 0,1: both user-gender twins); default: each task's own")
                     ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="the matrix folder; rerun into it to resume")
                       ] = Path("runs/matrix"),
) -> None:
    """Run every task x technique x format cell (repeated) in parallel; table, plot and reference auditors.

    With --backend modal the agents run here and every run's tools run in Modal containers; rerun the same
    command into the same --out to resume.
    """
    from interp_skills.agents.matrix import describe_plan, parse_techniques, plan_matrix, run_matrix
    from interp_skills.agents.matrix_table import COLUMNS
    from interp_skills.agents.matrix_table import table_rows as matrix_rows

    environments = get_registry().environments
    if backend not in environments:
        fail(f"unknown --backend {backend!r}; choose one of: {', '.join(environments)}")
    options = _agent_options("skill", harness, None, model, max_turns, budget_usd, no_budget, timeout, "none", None,
                             judge).model_copy(update={"backend": backend})
    if concurrency is None:
        concurrency = LOCAL_CONCURRENCY if environments[backend].stage is None else REMOTE_CONCURRENCY
    plan = plan_matrix([t.strip() for t in tasks.split(",") if t.strip()], parse_techniques(techniques),
                       formats.split(","), repeats=repeats, options=options, out=out_dir,
                       reference_prompts=reference_prompts, seeds=_seeds(seeds))
    if dry_run:
        out.print(describe_plan(plan, backend), highlight=False, soft_wrap=True)
        return
    from interp_skills.agents.processes import ending_children_on_signals
    from interp_skills.runs import LogReporter, RichReporter

    reporter = RichReporter() if sys.stderr.isatty() else LogReporter()
    try:
        with ending_children_on_signals():  # SIGTERM/SIGINT: every run's agent goes down with us
            result = run_matrix(plan, concurrency=concurrency, note=lambda line: err.print(line, highlight=False),
                                progress=reporter)
    finally:
        reporter.close()
    table = Table(*COLUMNS, title=f"{tasks}: {harness}")
    for cells in matrix_rows(result.summary):
        table.add_row(*cells)
    out.print(table)
    out.print(f"{len(result.executed)} run(s) made, {len(result.skipped)} already done; saved in {result.out}: "
              "matrix.json, matrix.md" + (", matrix.png" if result.plot else ""), highlight=False)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="address to listen on; a non-loopback one needs --allow-remote")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 7580,
    runs_dir: Annotated[Path, typer.Option(help="where runs are written, and past runs are read from")
                        ] = Path("runs/web"),
    token: Annotated[Optional[str], typer.Option(help="the token state-changing calls need; default: a random one")
                     ] = None,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="serve on a non-loopback --host")] = False,
    max_parallel: Annotated[int, typer.Option(min=1, help="runs at once; later ones wait as queued")] = 2,
) -> None:
    """Serve the web page: start agent runs, watch them live, answer checkpoints, read past runs."""
    from interp_skills.web.server import serve

    serve(host, port, runs_dir, token, allow_remote=allow_remote, max_parallel=max_parallel)


from interp_skills.organisms.cli import organism_app  # noqa: E402 (it builds on _App and out above)

app.add_typer(organism_app, name="organism")
import interp_skills.audit.cli  # noqa: E402,F401 (registers `audit` on app)


def main() -> None:
    add_commands(app)
    try:
        app()
    except InterpSkillsError as exc:
        print_error(str(exc))
        sys.exit(1)
