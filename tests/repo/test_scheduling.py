"""Scheduled runs: the GitHub Actions workflow and docs/scheduling.md fetch, then `make report`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "report.yml"
DOC = ROOT / "docs" / "scheduling.md"

# (min, max) per field: minute, hour, day of month, month, day of week
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
CRON_PART = re.compile(r"^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def load_workflow(path: Path = WORKFLOW) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def is_valid_cron(expr: str) -> bool:
    fields = expr.split()
    if len(fields) != 5:
        return False
    for field, (low, high) in zip(fields, CRON_RANGES, strict=True):
        for part in field.split(","):
            match = CRON_PART.match(part)
            if not match:
                return False
            numbers = [int(n) for n in match.group(2, 3) if n is not None]
            if any(not low <= n <= high for n in numbers) or match.group(4) == "0":
                return False
    return True


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_cron_validator_rejects_bad_expressions():
    assert is_valid_cron("15 6 * * *") and is_valid_cron("*/30 0-5 1,15 * 1-5")
    for bad in ["15 6 * *", "60 6 * * *", "15 24 * * *", "a b c d e", "*/0 * * * *"]:
        assert not is_valid_cron(bad), bad


def test_workflow_runs_nightly_and_on_demand():
    triggers = load_workflow()["on"]
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons and all(is_valid_cron(c) for c in crons), crons
    assert "workflow_dispatch" in triggers


def test_workflow_never_overlaps():
    concurrency = load_workflow()["concurrency"]
    assert concurrency["group"] and concurrency.get("cancel-in-progress") is not True


def test_workflow_runs_make_report():
    runs = [s["run"] for _, s in steps(load_workflow()) if "run" in s]
    assert any("make report" in [line.strip() for line in r.splitlines()] for r in runs), runs


def test_makefile_report_target_calls_the_runner():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^report:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert match, "Makefile has no report: target with a recipe"
    assert "chinaflows run" in match.group(1)


def test_workflow_uploads_reports_and_deploys_to_pages():
    workflow = load_workflow()
    all_steps = steps(workflow)
    uploads = [s for _, s in all_steps if uses(s, "actions/upload-pages-artifact")]
    assert [s["with"]["path"] for s in uploads] == ["reports"]
    assert any(uses(s, "actions/configure-pages") for _, s in all_steps)

    deploy_jobs = [n for n, s in all_steps if uses(s, "actions/deploy-pages")]
    assert len(deploy_jobs) == 1
    job = workflow["jobs"][deploy_jobs[0]]
    permissions = {**workflow.get("permissions", {}), **job.get("permissions", {})}
    assert permissions.get("pages") == "write" and permissions.get("id-token") == "write"
    assert job["environment"]["name"] == "github-pages"
    assert "page_url" in job["environment"]["url"]


def test_deploy_waits_for_the_job_that_runs_make_report():
    workflow = load_workflow()
    builder = next(n for n, s in steps(workflow) if "make report" in s.get("run", ""))
    deployer = next(n for n, s in steps(workflow) if uses(s, "actions/deploy-pages"))
    needs = workflow["jobs"][deployer].get("needs", [])
    assert builder in ([needs] if isinstance(needs, str) else needs)


def test_doc_cron_line_calls_make_report():
    blocks = code_blocks(DOC.read_text(encoding="utf-8"))
    cron_lines = [
        line
        for block in blocks
        for line in block.splitlines()
        if len(line.split()) > 5 and is_valid_cron(" ".join(line.split()[:5]))
    ]
    assert cron_lines, "no crontab line in docs/scheduling.md"
    assert all("make report" in line for line in cron_lines), cron_lines


def test_doc_systemd_service_calls_make_report():
    blocks = code_blocks(DOC.read_text(encoding="utf-8"))
    exec_starts = re.findall(r"^ExecStart=(.*)$", "\n".join(blocks), flags=re.MULTILINE)
    assert exec_starts, "no ExecStart= in docs/scheduling.md"
    assert all(re.search(r"\bmake report\b", cmd) for cmd in exec_starts), exec_starts
    timer = next(b for b in blocks if "[Timer]" in b)
    assert "OnCalendar=" in timer and "Persistent=true" in timer


def test_workflow_fetches_first_and_runs_only_after_fetch_codes_0_and_6():
    build = load_workflow()["jobs"]["build"]
    runs = [step.get("run", "") for step in build["steps"]]
    fetch = next(i for i, r in enumerate(runs) if "chinaflows fetch" in r)
    report = next(i for i, r in enumerate(runs) if "make report" in r.splitlines())
    assert fetch < report
    assert re.search(r"^\s*0\|6\)", runs[fetch], flags=re.MULTILINE), runs[fetch]
    step = build["steps"][fetch]
    assert "CHINAFLOWS_SEC_USER_AGENT" in step.get("env", {})


def test_workflow_keeps_issuer_downloads_in_the_cache_and_commits_nothing():
    all_steps = steps(load_workflow())
    caches = [s for _, s in all_steps if uses(s, "actions/cache")]
    assert len(caches) == 1
    cached = set(caches[0]["with"]["path"].split())
    assert cached == {
        f"data/raw/fetched/{source}"
        for source in ("ishares", "xtrackers", "invesco_navs", "invesco_prices")
    }
    runs = " ".join(s.get("run", "") for _, s in all_steps)
    assert "git commit" not in runs and "git push" not in runs


def test_doc_schedules_fetch_before_the_report_and_act_on_its_exit_code():
    blocks = "\n".join(code_blocks(DOC.read_text(encoding="utf-8")))
    cron = next(
        line for line in blocks.splitlines() if "chinaflows fetch" in line and "15 6" in line
    )
    assert cron.index("chinaflows fetch") < cron.index("make report")
    assert "0|6)" in cron
    pre = re.findall(r"^ExecStartPre=(.*)$", blocks, flags=re.MULTILINE)
    assert any("chinaflows fetch" in line and "-eq 6" in line for line in pre), pre
