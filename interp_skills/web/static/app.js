// interp-skills web: the run form and the live run view. No build step, no framework.
// Everything shown from a run is set with textContent, never parsed as HTML.
"use strict";

const TOKEN_HEADER = document.body.dataset.tokenHeader;
const FINISHED = ["done", "failed"];

function token() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) return fromUrl;
  const name = "interp_skills_token_" + (location.port || "80") + "=";
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(name));
  return cookie ? decodeURIComponent(cookie.slice(name.length)) : null;
}

async function post(url, body) {
  const headers = { "Content-Type": "application/json" };
  const t = token();
  if (t) headers[TOKEN_HEADER] = t;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function cut(text, limit) {
  text = String(text ?? "");
  return text.length > limit ? text.slice(0, limit) + ` … (${text.length - limit} more characters)` : text;
}

// --- the run form -------------------------------------------------------------------------

function numberOrNull(id) {
  const value = document.getElementById(id).value.trim();
  return value === "" ? null : Number(value);
}

function textOrNull(id) {
  const value = document.getElementById(id).value.trim();
  return value === "" ? null : value;
}

function runForm(form) {
  const task = document.getElementById("task");
  const showTask = () => {
    const option = task.selectedOptions[0];
    document.getElementById("task-techniques").textContent = option ? option.dataset.techniques || "none" : "";
    document.getElementById("task-checkpoints").textContent = option ? option.dataset.checkpoints || "none" : "";
  };
  task.addEventListener("change", showTask);
  showTask();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("error");
    error.textContent = "";
    const body = {
      task: task.value,
      techniques: [...document.querySelectorAll('#techniques input[name="technique"]:checked')].map((c) => c.value),
      format: document.getElementById("format").value,
      harness: document.getElementById("harness").value,
      model: textOrNull("model"),
      interp_model: textOrNull("interp-model"),
      limits: { max_turns: numberOrNull("max-turns"), timeout_s: numberOrNull("timeout"),
                budget_usd: numberOrNull("budget") },
      checkpoint: document.getElementById("checkpoint").value,
      judge: textOrNull("judge"),
    };
    const start = document.getElementById("start");
    start.disabled = true;
    try {
      const started = await post("/api/agent/task", body);
      location.assign(started.url);
    } catch (exc) {
      error.textContent = exc.message;
      start.disabled = false;
    }
  });
}

// --- the live run view --------------------------------------------------------------------

function said(summary) {
  // what the agent said at a checkpoint, without its `CHECKPOINT <stage>` line
  return String(summary ?? "").replace(/^\s*CHECKPOINT\s+\S+\s*\n?/, "");
}

function describe(event) {
  // [label, text] for one events.jsonl line
  const content = event.message?.content;
  if (event.type === "assistant") {
    const parts = (content || []).map((b) =>
      b.type === "tool_use" ? `→ ${b.name} ${cut(JSON.stringify(b.input), 300)}` : b.type === "text" ? b.text : "");
    return ["agent", cut(parts.filter(Boolean).join("\n"), 1500)];
  }
  if (event.type === "user") {
    if (typeof content === "string") return ["task", cut(content, 300)];
    const results = (content || []).filter((b) => b.type === "tool_result");
    if (results.length) {
      const text = results.map((b) => (Array.isArray(b.content) ? b.content.map((c) => c.text || "").join("\n")
                                                               : String(b.content ?? ""))).join("\n");
      return [results.some((b) => b.is_error) ? "tool error" : "tool result", cut(text, 1200)];
    }
    return ["context", cut((content || []).map((b) => b.text || "").join("\n"), 600)];
  }
  if (event.type === "system") {
    return ["session", `${event.subtype || ""} model ${event.model || "?"}; tools: ${(event.tools || []).join(", ")}`];
  }
  if (event.type === "result") return ["final", cut(event.result, 1500)];
  if (event.type === "harness") {
    if (event.subtype === "start") return ["start", `${event.name} handed to ${event.harness} (format ${event.format})`];
    if (event.subtype === "checkpoint") return ["checkpoint", `${event.stage}: ${cut(said(event.summary), 1200)}`];
    if (event.subtype === "person") return ["person", event.text || "(carry on as planned)"];
    if (event.subtype === "stop") return ["stop", `${event.stop}: ${event.detail || ""}`];
  }
  return [event.type || "event", cut(JSON.stringify(event), 600)];
}

function verdictView(run) {
  const box = document.getElementById("verdict");
  box.replaceChildren();
  if (!run.verdict) {
    if (run.status === "failed") box.append(el("p", run.detail, "error"));
    return;
  }
  box.append(el("h2", "Verdict"), el("p", run.verdict.summary, "summary"));
  const table = el("table");
  const head = el("tr");
  ["claim", "status", "measured", "expected", "evidence"].forEach((h) => head.append(el("th", h)));
  table.append(head);
  for (const claim of run.verdict.claims || []) {
    const row = el("tr", null, `claim-${claim.status}`);
    [claim.id, claim.status, claim.measured ?? "not measured", claim.expected, claim.evidence]
      .forEach((cell) => row.append(el("td", String(cell))));
    table.append(row);
  }
  box.append(table);
  if (run.verdict.judge) box.append(el("p", `judge: ${run.verdict.judge.overall} overall`));
  if (run.outcome) {
    const o = run.outcome;
    const cost = o.cost_usd === null || o.cost_usd === undefined ? "cost unknown" : `$${o.cost_usd.toFixed(4)}`;
    box.append(el("p", `stopped: ${o.stop} (${o.detail}); ${o.turns} turns, ${cost}, ${o.wall_s} s`));
  }
}

function figuresView(run) {
  const box = document.getElementById("figures");
  box.replaceChildren();
  if (!run.figures.length) return;
  box.append(el("h2", "Figures"));
  for (const url of run.figures) {
    const img = el("img");
    img.src = url;
    img.alt = url.split("/").pop();
    const link = el("a");
    link.href = url;
    link.append(img);
    box.append(link);
  }
}

async function resultsView(run) {
  const box = document.getElementById("results");
  box.replaceChildren();
  if (run.metrics !== null && run.metrics !== undefined) {
    box.append(el("h2", "Metrics"), el("pre", JSON.stringify(run.metrics, null, 2), "metrics"));
  }
  const files = el("p", "Files: ");
  for (const name of ["report.md", "transcript.md", "events.jsonl", "config.json", "agent.json", "verdict.json"]) {
    const link = el("a", name);
    link.href = `/runs/${run.id}/files/${name}`;
    files.append(link, " ");
  }
  box.append(files);
  const report = await fetch(`/runs/${run.id}/files/report.md`);
  if (report.ok) box.append(el("h2", "Report"), el("pre", await report.text(), "report"));
}

function liveRun(section) {
  const id = section.dataset.runId;
  const status = document.getElementById("status");
  const tool = document.getElementById("current-tool");
  const stage = document.getElementById("stage");
  const events = document.getElementById("events");
  const form = document.getElementById("checkpoint-form");
  const error = document.getElementById("error");
  let lastCheckpoint = null;
  let current = null;

  const showStage = () => {
    if (current?.status === "waiting" && current.checkpoint) {
      stage.textContent = `checkpoint ${current.checkpoint.stage}: waiting for your reply`;
    } else if (current && FINISHED.includes(current.status)) {
      stage.textContent = "finished";
    } else {
      stage.textContent = lastCheckpoint ? `after checkpoint ${lastCheckpoint}` : (current?.status || "");
    }
  };

  const onEvent = (event) => {
    const [label, text] = describe(event);
    const item = el("li", null, `event event-${event.type}`);
    item.append(el("span", label, "label"), el("span", text, "text"));
    events.append(item);
    if (event.type === "assistant") {
      const calls = (event.message?.content || []).filter((b) => b.type === "tool_use").map((b) => b.name);
      tool.textContent = calls.join(", ");
    } else if (event.type === "user" || event.type === "result" || event.type === "harness") {
      tool.textContent = "";
    }
    if (event.type === "harness" && event.subtype === "checkpoint") lastCheckpoint = event.stage;
    showStage();
  };

  const onStatus = (run) => {
    current = run;
    status.dataset.status = run.status;
    status.textContent = run.status + (run.stop ? ` (stop: ${run.stop})` : "") +
      (run.status === "failed" && run.detail ? `: ${run.detail}` : "");
    form.hidden = !(run.status === "waiting" && run.checkpoint);
    if (!form.hidden) document.getElementById("checkpoint-question").textContent = said(run.checkpoint.summary);
    if (FINISHED.includes(run.status)) {
      tool.textContent = "";
      verdictView(run);
      figuresView(run);
      resultsView(run);
    }
    showStage();
  };

  const stream = new EventSource(`/api/runs/${id}/events`);
  stream.addEventListener("open", () => { events.replaceChildren(); lastCheckpoint = null; });  // a reconnect replays
  stream.addEventListener("message", (m) => onEvent(JSON.parse(m.data)));
  stream.addEventListener("status", (m) => onStatus(JSON.parse(m.data)));
  stream.addEventListener("end", () => stream.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const send = document.getElementById("checkpoint-send");
    send.disabled = true;
    try {
      await post(`/api/runs/${id}/checkpoint`, { reply: document.getElementById("checkpoint-reply").value });
      document.getElementById("checkpoint-reply").value = "";
      form.hidden = true;
    } catch (exc) {
      error.textContent = exc.message;
    } finally {
      send.disabled = false;
    }
  });
}

const form = document.getElementById("run-form");
if (form) runForm(form);
const section = document.getElementById("run");
if (section) liveRun(section);
