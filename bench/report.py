"""The bench's report: Markdown and PNG plots, built from the JSON a run wrote.

    .venv/bin/python -m bench.report bench/results/<date>-<host>.json

Writes <stem>.md, <stem>-latency.png, <stem>-throughput.png and <stem>-backlog.png beside the
JSON. Every ratio is between two figures of the same run: on a shared or drifting machine
those are the numbers that travel.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.scenarios import CONNECTIONS, P99_OVER_P50, SCENARIOS, Scenario

BY_NAME = {s.name: s for s in SCENARIOS}


def _runs(result: dict[str, Any], kind: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["scenario"], r["connections"]): r for r in result["runs"] if r["kind"] == kind}


def ceiling_of(result: dict[str, Any], scenario: Scenario, connections: int
               ) -> tuple[str, float] | None:
    """(what, rate) this scenario at this many connections is compared with."""
    if scenario.ceiling == "bare":
        bare = _runs(result, "wrk").get(("bare", connections))
        again = [r["rps"] for r in result.get("bare_end", []) if r["connections"] == connections]
        return ("bare route", (bare["rps"] + sum(again)) / (1 + len(again))) if bare else None
    if scenario.ceiling == "raw":
        raw = _runs(result, "pgbench").get((scenario.raw_of or scenario.name, connections))
        return (f"raw {raw['script']}", raw["rps"]) if raw else None
    if scenario.ceiling in ("argon2", "argon2-hash"):
        kind = "verify" if scenario.ceiling == "argon2" else "hash"
        rates = result.get(f"{kind}_rate") or {}
        workers = "1" if connections == 1 else max(rates, key=int, default="1")
        return (f"argon2 {kind} x{workers}", rates[workers]) if workers in rates else None
    return None


def _spread(run: dict[str, Any]) -> float:
    """p99 over p50: how far the slow tail stands from the typical request."""
    return run["p99"] / run["p50"] if run["p50"] else float("inf")


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.2f}"


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def build(path: Path) -> Path:
    result = json.loads(path.read_text())
    stem = path.with_suffix("")
    markdown = stem.with_suffix(".md")
    plots = _plots(result, stem)
    markdown.write_text(render(result, {k: v.name for k, v in plots.items()}))
    return markdown


def render(result: dict[str, Any], plots: dict[str, str]) -> str:
    meta = result["meta"]
    m, s = meta["machine"], meta["settings"]
    wrk_runs, raw_runs = _runs(result, "wrk"), _runs(result, "pgbench")
    out: list[str] = [f"# Rampart bench, {meta['date'][:10]} on {m['host']}", ""]
    if meta.get("quick"):
        out += ["> **Quick run** (`make bench-quick`): a smoke test of the harness, runs of "
                f"{s['seconds']:g} s on little data. Its numbers prove the pipeline works, "
                "nothing more; `make bench` gives the figures to read.", ""]
    out += [
        f"{meta.get('database', '?')}; `rampart serve` and the bare Litestar app under granian "
        f"with {s['workers']} workers each; wrk over loopback, from its own process. Each "
        f"scenario at each of {', '.join(map(str, meta['connections']))} connections: a "
        f"{s['warmup']:g} s warm-up, then {s['seconds']:g} s measured; "
        f"{_raw_phase(result)}{_room(meta)}. Seeded: {s['products']:,} products with stock, "
        f"{s['users']:,} users with tokens, {s['orders']} orders asked. Load average "
        f"{meta['load_before']:.2f} before, {meta.get('load_after', float('nan')):.2f} after, "
        f"on {m['cores']} cores; {meta.get('wall_seconds', '?')} s in all.", "",
        "Only ratios within this run mean anything: wrk, the servers and PostgreSQL share the "
        "same cores, and on a shared machine so do other people's processes.", "",
        *(["## Notes", "", *[f"- {n}" for n in result["notes"]], ""]
          if result.get("notes") else []),
        "## Machine and versions", "",
        "| | |", "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores |",
        f"| memory | {m.get('memory_gb')} GiB |",
        f"| kernel, Python | {m['kernel']}, {m['python']} |",
        "| " + " | ".join(["packages", ", ".join(
            f"{k} {v}" for k, v in (meta.get("versions") or {}).items())]) + " |", "",
        "## Scenarios", "",
        "Latencies in ms. The ratio is the scenario's requests/s over its ceiling's in the "
        "same run, at the same connection count; the bare route is measured first and again "
        "at the end, and its ceiling is the mean of the two (their drift says how steady the "
        "machine was). p99/p50: how far the slow tail stands from the typical request (the "
        f"issue asks at most {P99_OVER_P50:g}x at {max(CONNECTIONS)} connections, with 0 errors)."
        " CPU in cores: wrk's own, and the whole machine's while it ran.", "",
        "| scenario | conns | req/s | p50 | p90 | p99 | p99/p50 | errors | ceiling | ratio | "
        "wrk CPU | machine CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        for c in CONNECTIONS:
            run = wrk_runs.get((scenario.name, c))
            if run is None:
                continue
            ceiling = ceiling_of(result, scenario, c)
            ratio = f"{100 * run['rps'] / ceiling[1]:.0f}%" if ceiling else (
                "100%" if scenario.ceiling is None else "-")
            capped = " (capped)" if run.get("capped") else ""
            out.append(
                f"| {scenario.title} | {c} | {run['rps']:,.0f}{capped} | {_ms(run['p50'])} | "
                f"{_ms(run['p90'])} | {_ms(run['p99'])} | {_spread(run):.1f}x | "
                f"{run['errors']} | "
                f"{ceiling[0] if ceiling else ('itself' if scenario.ceiling is None else '-')}"
                f" | {ratio} | {run['cpu_wrk']:.2f} | {run['cpu_machine']:.2f} |")
            raw = raw_runs.get((scenario.name, c))
            if raw:
                out.append(f"| ↳ raw PostgreSQL `{raw['script']}` | {c} | {raw['rps']:,.0f} "
                           f"tx/s | {_ms(raw['p50'])} | {_ms(raw['p90'])} | {_ms(raw['p99'])} "
                           f"| {_spread(raw):.1f}x | {raw['errors']} | | | | "
                           f"{raw['cpu_machine']:.2f} |")
    for again in result.get("bare_end", []):
        first = wrk_runs.get(("bare", again["connections"]))
        if first:
            out.append(f"| (bare route again, at the end) | {again['connections']} | "
                       f"{again['rps']:,.0f} | {_ms(again['p50'])} | {_ms(again['p90'])} | "
                       f"{_ms(again['p99'])} | {_spread(again):.1f}x | {again['errors']} | drift "
                       f"{100 * (again['rps'] / first['rps'] - 1):+.0f}% | | "
                       f"{again['cpu_wrk']:.2f} | {again['cpu_machine']:.2f} |")
    cached = [(scenario.title, run, c) for scenario in SCENARIOS for c in CONNECTIONS
              if (run := wrk_runs.get((scenario.name, c))) and "cache_hit_ratio" in run]
    if cached:
        out += ["", "Answered from a process cache during the measured run (cache hits over "
                "hits and misses, every worker): " + "; ".join(
                    f"{title} {100 * run['cache_hit_ratio']:.0f}% at {c}"
                    for title, run, c in cached) + ". Each worker fills its own cache, so a "
                "scenario over many ids starts cold."]
    rounds = result.get("argon2_rounds") or []
    for key, kind in (("verify", "verifications"), ("hash", "hashes")):
        rates = result.get(f"{key}_rate") or {}
        if rates:
            each = "; ".join(", ".join(f"{v:,.1f}" for v in r[key].values()) for r in rounds)
            out += ["", f"pwdlib argon2id {kind}/s here (the project's parameters): " +
                    ", ".join(f"{v:,.1f} with {k} at once" for k, v in rates.items()) +
                    (f" (the mean of {len(rounds)} rounds, after seeding and after the raw "
                     f"ceilings: {each})" if len(rounds) > 1 else "") + "."]
    out += _argon2_apart(result, wrk_runs, raw_runs)
    out += _generator(wrk_runs)
    out += _targets(result, wrk_runs)
    out += _floors(result, wrk_runs)
    out += _cpu_budget(result, wrk_runs)
    out += _single(result, wrk_runs, raw_runs)
    out += _events_and_resources(result, wrk_runs)
    if result.get("skipped"):
        out += ["", "## Skipped", ""]
        out += [f"- {s['title']}: {s['reason']}." for s in result["skipped"]]
    out += ["", "## Plots", ""]
    out += [f"![{name}]({file})" for name, file in plots.items()]
    return "\n".join(out) + "\n"


def _raw_phase(result: dict[str, Any]) -> str:
    raws = [r for r in result["runs"] if r["kind"] == "pgbench"]
    if raws and not any(r.get("servers_running", True) for r in raws):
        return ("the raw-PostgreSQL ceilings under pgbench after every HTTP run, with both "
                "servers stopped (their pools would hold the connections pgbench needs)")
    return "raw-PostgreSQL ceilings under pgbench right after"


def _room(meta: dict[str, Any]) -> str:
    room = meta.get("pg_connections")
    if not room:
        return ""
    return (f"; PostgreSQL's max_connections {room['max']} ({room['reserved']} reserved), "
            f"{room['in_use']} in use before the run")


def _argon2_apart(result: dict[str, Any], wrk_runs: dict[tuple[str, int], dict[str, Any]],
                  raw_runs: dict[tuple[str, int], dict[str, Any]]) -> list[str]:
    """An argon2-bound command against its hash and, apart, its SQL's raw rate."""
    out: list[str] = []
    for scenario in SCENARIOS:
        if scenario.ceiling != "argon2-hash":
            continue
        for c in CONNECTIONS:
            run, raw = wrk_runs.get((scenario.name, c)), raw_runs.get((scenario.name, c))
            ceiling = ceiling_of(result, scenario, c)
            if run is None or ceiling is None:
                continue
            sql = (f"; its SQL alone (`{raw['script']}`, a fixed hash) runs at "
                   f"{raw['rps']:,.0f} tx/s, {100 * run['rps'] / raw['rps']:.1f}% of which it "
                   "reaches" if raw and raw["rps"] else "")
            out.append(f"{scenario.title} at {c} connection{'s' if c > 1 else ''}: "
                       f"{run['rps']:,.1f} req/s, {100 * run['rps'] / ceiling[1]:.0f}% of "
                       f"{ceiling[0]} ({ceiling[1]:,.1f}/s){sql}.")
    return ["", "Argon2 taken out of the comparison: " + " ".join(out)] if out else []


def _generator(wrk_runs: dict[tuple[str, int], dict[str, Any]]) -> list[str]:
    if not wrk_runs:
        return []

    def per_thread(run: dict[str, Any]) -> float:
        return run["cpu_wrk"] / min(2, run["connections"])

    busiest = max(wrk_runs.values(), key=per_thread)
    shares = [r["cpu_wrk"] / r["cpu_machine"] for r in wrk_runs.values() if r["cpu_machine"]]
    verdict = ("so it had most of its cores to spare: the servers, not wrk, set the pace" if
               per_thread(busiest) < 0.5 else "close enough to a core per thread that wrk may "
               "have limited this run: read its ratios with care")
    return ["", "## Is the generator the bottleneck?", "",
            f"wrk runs with up to 2 threads, one core each at most. Its busiest threads used "
            f"{per_thread(busiest):.2f} of a core each ({busiest['title']} at "
            f"{busiest['connections']} connections), {verdict}. Its share of the CPU the "
            f"machine spent was at most {100 * max(shares, default=0):.0f}% in any run."]


def _targets(result: dict[str, Any], wrk_runs: dict[tuple[str, int], dict[str, Any]]
             ) -> list[str]:
    top = max(CONNECTIONS)
    out = ["", "## The issue's targets", "", "| target | measured | |", "|---|---:|---|"]
    skipped = {s["scenario"] for s in result.get("skipped", [])}
    for scenario in SCENARIOS:
        if scenario.target is None:
            continue
        run, ceiling = wrk_runs.get((scenario.name, top)), ceiling_of(result, scenario, top)
        goal = f"{scenario.title} >= {100 * scenario.target:.0f}% of its ceiling at {top}"
        if run and ceiling:
            ratio = run["rps"] / ceiling[1]
            out.append(f"| {goal} ({ceiling[0]}) | {100 * ratio:.0f}% | "
                       f"{_mark(ratio >= scenario.target)} |")
        else:
            why = "skipped" if scenario.name in skipped else "no ceiling measured"
            out.append(f"| {goal} | - | not measured ({why}) |")
    for scenario in SCENARIOS:
        run = wrk_runs.get((scenario.name, top))
        if run is None:
            continue
        spread = _spread(run)
        out.append(f"| {scenario.title} at {top}: p99 <= {P99_OVER_P50:g}x p50, 0 errors | "
                   f"{spread:.1f}x, {run['errors']} errors | "
                   f"{_mark(spread <= P99_OVER_P50 and run['errors'] == 0)} |")
    return out


def _floors(result: dict[str, Any], wrk_runs: dict[tuple[str, int], dict[str, Any]]
            ) -> list[str]:
    """Each command beside its floor: the same statements from a bare route (bench/bare.py)."""
    top = max(CONNECTIONS)
    rows = []
    for scenario in SCENARIOS:
        run = wrk_runs.get((scenario.name, top))
        floor = wrk_runs.get((scenario.floor, top)) if scenario.floor else None
        ceiling = ceiling_of(result, scenario, top)
        if run is None or floor is None or ceiling is None:
            continue
        rows.append(f"| {scenario.title} | {ceiling[1]:,.0f} | {floor['rps']:,.0f} "
                    f"({100 * floor['rps'] / ceiling[1]:.0f}%) | {run['rps']:,.0f} "
                    f"({100 * run['rps'] / ceiling[1]:.0f}%) | "
                    f"{100 * run['rps'] / floor['rps']:.0f}% |")
    if not rows:
        return []
    return ["", f"## Writes beside their floors ({top} connections)", "",
            "A floor sends a command's very statements, in Rampart's round trips, from a bare "
            "Litestar route with Rampart's pool settings: no authentication, limits, logs, "
            "metrics or relay (bench/bare.py). Its share of the raw ceiling is what Python, "
            "Litestar and psycopg on this machine leave of PostgreSQL's rate before Rampart "
            "adds anything; the last column is how much of that Rampart keeps.", "",
            "| command | raw tx/s | floor req/s (of raw) | Rampart req/s (of raw) | "
            "Rampart of its floor |", "|---|---:|---:|---:|---:|", *rows]


def _cpu_budget(result: dict[str, Any], wrk_runs: dict[tuple[str, int], dict[str, Any]]
                ) -> list[str]:
    """Where each write's CPU goes, per request, beside what its target would allow.

    wrk, the servers and PostgreSQL share the machine's cores, so a command reaches `target` of
    its raw rate only if all it costs the machine per request (the servers' CPU, and PostgreSQL's
    with whatever else ran) fits in cores / (target x raw tx/s). What PostgreSQL spends per
    request is measured, so what is left of that budget is the most the servers may spend."""
    top = max(CONNECTIONS)
    rows = []
    for scenario in SCENARIOS:
        run = wrk_runs.get((scenario.name, top))
        ceiling = ceiling_of(result, scenario, top)
        if (scenario.ceiling != "raw" or run is None or ceiling is None or not run["rps"]
                or "cpu_servers" not in run):  # (older result files have no server CPU)
            continue
        # A floor is measured against its command's raw run and target.
        command = BY_NAME[scenario.raw_of] if scenario.raw_of else scenario
        raw = _runs(result, "pgbench")[(command.name, top)]
        target = command.target
        if target is None:
            continue
        per = 1000 / run["rps"]  # ms of CPU per request, for each core-second per second
        servers = run["cpu_servers"] * per
        rest = max(0.0, run["cpu_machine"] - run["cpu_servers"] - run["cpu_wrk"]) * per
        budget = 1000 * run["cores"] / (target * ceiling[1])
        room = budget - rest
        over = f"{servers / room:.1f}x" if room > 0 else "no room"
        rows.append(f"| {scenario.title} | {1000 * raw['cpu_machine'] / ceiling[1]:.2f} | "
                    f"{servers:.2f} | {rest:.2f} | {servers + rest:.2f} | "
                    f"{budget:.2f} ({100 * target:.0f}%) | {room:.2f} | {over} |")
    if not rows:
        return []
    return ["", f"## CPU per request ({top} connections)", "",
            "The servers' CPU (workers and relays, from /proc) and the rest of the machine's "
            "(PostgreSQL, and anything else that ran) in ms per request; the raw ceiling's in "
            "ms per transaction (PostgreSQL and pgbench). On cores shared by all of them, a "
            "command reaches its target share of the raw rate only if its whole cost fits in "
            "cores / (target x raw tx/s): the budget. Less what PostgreSQL spent per request, "
            "that leaves the servers' room; the last column is how far over it they are.", "",
            "| command | raw ms/tx | servers ms/req | PostgreSQL and the rest | total | "
            "budget (target) | servers' room | servers over it |",
            "|---|---:|---:|---:|---:|---:|---:|---:|", *rows]


def _single(result: dict[str, Any], wrk_runs: dict[tuple[str, int], dict[str, Any]],
            raw_runs: dict[tuple[str, int], dict[str, Any]]) -> list[str]:
    bare = wrk_runs.get(("bare", 1))
    query = raw_runs.get(("get_product", 1))
    if bare is None:
        return []
    out = ["", "## One request at a time (1 connection)", "",
           f"The bare route answers in {_ms(bare['p50'])} ms (p50)"
           + (f"; one raw point read in PostgreSQL (`{query['script']}`) takes "
              f"{_ms(query['p50'])} ms" if query else "; no raw query was measured")
           + ". Each scenario's p50 next to theirs, and next to its own statements raw (its "
           "pgbench mirror, where it has one): what Rampart adds to a single request.", "",
           "| scenario | p50 ms | bare route p50 | one raw query p50 | over bare + one raw "
           "query | its raw mirror p50 | over its raw mirror |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in SCENARIOS:
        run = wrk_runs.get((scenario.name, 1))
        if run is None or scenario.name == "bare":
            continue
        mirror = raw_runs.get((scenario.name, 1))
        over_query = f"{run['p50'] - bare['p50'] - query['p50']:+.2f}" if query else "-"
        over_mirror = f"{run['p50'] - mirror['p50']:+.2f}" if mirror else "-"
        out.append(f"| {scenario.title} | {_ms(run['p50'])} | {_ms(bare['p50'])} | "
                   f"{_ms(query['p50']) if query else '-'} | {over_query} | "
                   f"{_ms(mirror['p50']) if mirror else '-'} | {over_mirror} |")
    return out


def _events_and_resources(result: dict[str, Any],
                          wrk_runs: dict[tuple[str, int], dict[str, Any]]) -> list[str]:
    out: list[str] = []
    if result.get("events"):
        out += ["", "## Events: publish to handler, under load", "",
                "For the events published during a scenario's run at 32 connections: from "
                "`occurred_at` (stamped inside the publishing transaction, just before its "
                "commit) to the relay's claim (`last_attempt_at`, the handler starts right "
                "after) and to the delivery marked done. In ms.", "",
                "| scenario | event | deliveries | claimed p50 | p99 | done p50 | p99 | "
                "pending after 60 s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for e in result["events"]:
            out.append(f"| {BY_NAME[e['scenario']].title} | {e['event']} | {e['deliveries']} "
                       f"| {_ms(e['claimed_p50'])} | {_ms(e['claimed_p99'])} | "
                       f"{_ms(e['done_p50'])} | {_ms(e['done_p99'])} | "
                       f"{e['pending_after_60s']} |")
    meta = result["meta"]
    room = meta.get("pg_connections")
    out += ["", "## Outbox backlog, PostgreSQL connections, memory", "",
            "Sampled every half second during each run: pending deliveries (max, and at the "
            "end), PostgreSQL connections to the bench database (max in all, max active) and "
            "to the whole server (every database's client connections count against "
            "max_connections"
            + (f", {room['max']} here" if room else "") + "), and the largest RSS of each "
            "`rampart serve` worker. The raw ceilings ran with the servers stopped.", "",
            "| scenario | conns | backlog max | backlog end | PG connections | PG active | "
            "PG server-wide | RSS per worker (MiB) |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    raws = [r for r in result["runs"] if r["kind"] == "pgbench"]
    for run in [*wrk_runs.values(), *raws]:
        if BY_NAME.get(run["scenario"]) and BY_NAME[run["scenario"]].server == "bare":
            continue
        title = f"↳ raw `{run['script']}`" if run["kind"] == "pgbench" else run["title"]
        rss = ", ".join(f"{v:.0f}" for v in run.get("rss_mb_max", []))
        out.append(f"| {title} | {run['connections']} | {run['backlog_max']} | "
                   f"{run['backlog_end']} | {run['pg_connections_max']} | "
                   f"{run['pg_active_max']} | {run.get('pg_server_max', '-')} | {rss} |")
    if meta.get("rss_mb_start"):
        out += ["", "RSS per worker (MiB) after seeding: " + ", ".join(
            f"{v:.0f}" for v in meta["rss_mb_start"]) + "; at the end: " + ", ".join(
            f"{v:.0f}" for v in meta.get("rss_mb_end", [])) + "."]
    return out


def _plots(result: dict[str, Any], stem: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrk_runs = _runs(result, "wrk")
    files: dict[str, Path] = {}
    measured = [s for s in SCENARIOS if any((s.name, c) in wrk_runs for c in CONNECTIONS)]
    if not measured:
        return files

    fig, axes = plt.subplots(1, len(CONNECTIONS), figsize=(6 * len(CONNECTIONS), 4.5),
                             squeeze=False)
    for ax, c in zip(axes[0], CONNECTIONS, strict=True):
        names = [s for s in measured if (s.name, c) in wrk_runs]
        for k, (key, label) in enumerate((("50", "p50"), ("90", "p90"), ("99", "p99"))):
            ax.bar([i + (k - 1) * 0.27 for i in range(len(names))],
                   [wrk_runs[(s.name, c)]["percentiles_ms"][key] for s in names], 0.27,
                   label=label)
        ax.set_xticks(range(len(names)), [s.name for s in names], rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title(f"{c} connection{'s' if c > 1 else ''}")
        ax.legend()
    fig.suptitle("Latency percentiles per scenario")
    fig.tight_layout()
    files["latency"] = stem.with_name(stem.name + "-latency.png")
    fig.savefig(files["latency"], dpi=90)
    plt.close(fig)

    top = max(CONNECTIONS)
    rows = [(s, wrk_runs[(s.name, top)], ceiling_of(result, s, top)) for s in measured
            if (s.name, top) in wrk_runs and s.ceiling is not None]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["rps"] for _, r, _ in rows], 0.4, label="scenario")
    ax.bar([x + 0.2 for x in xs], [c[1] if c else 0 for _, _, c in rows], 0.4,
           label="its ceiling", color="lightgray")
    for x, (_, run, ceiling) in zip(xs, rows, strict=True):
        if ceiling:
            ax.annotate(f"{100 * run['rps'] / ceiling[1]:.0f}%", (x - 0.2, run["rps"]),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), [s.name for s, _, _ in rows], rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log)")
    ax.set_title(f"Throughput against its ceiling, {top} connections")
    ax.legend()
    fig.tight_layout()
    files["throughput"] = stem.with_name(stem.name + "-throughput.png")
    fig.savefig(files["throughput"], dpi=90)
    plt.close(fig)

    series = [(f"{name} c={c}", run["backlog"]) for (name, c), run in wrk_runs.items()
              if BY_NAME.get(name) and BY_NAME[name].idempotent and run.get("backlog")]
    if series:
        fig, ax = plt.subplots(figsize=(9, 3.5))
        for label, points in series:
            ax.plot([t for t, _ in points], [n for _, n in points], label=label)
        ax.set_xlabel("seconds into the run")
        ax.set_ylabel("pending deliveries")
        ax.set_title("Outbox backlog during the write scenarios")
        ax.legend(fontsize=8)
        fig.tight_layout()
        files["backlog"] = stem.with_name(stem.name + "-backlog.png")
        fig.savefig(files["backlog"], dpi=90)
        plt.close(fig)
    return files


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(build(Path(arg)))
