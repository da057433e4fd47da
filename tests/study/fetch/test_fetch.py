"""`chinaflows fetch` end to end against sources served from 127.0.0.1, in-process, on a fake
clock: what is kept, what is refused, and that nothing kept is ever lost or rewritten."""

from __future__ import annotations

import datetime as dt
import hashlib

import filelock
import pytest
from sec_index_files import filings_atom
from source_files import html_page, ishares_workbook, sec_throttle_page
from source_server import Answer
from source_world import (
    CORE,
    CQQQ_CUSIP,
    DAYS,
    QUARTERS,
    SEC_USER_AGENT,
    SERIES,
    history,
    month_flows,
)

from helpers.fetch import kept_files
from helpers.fetch.kept_files import MANIFEST_COLUMNS, RunInProgress
from helpers.fetch.outcomes import FetchExitCode
from helpers.fetch.sec_nport import NO_USER_AGENT
from helpers.fetch.sources_file import SEC_USER_AGENT_ENV_VAR

SOURCES = ["ishares", "xtrackers", "invesco_navs", "invesco_prices", "sec_nport"]


def outcome(report, ticker, source):
    return next(o for o in report.outcomes if (o.ticker, o.source) == (ticker, source))


def counts(report, ticker, source):
    found = outcome(report, ticker, source).counts
    return found.new, found.unchanged, found.restated


def notes(report, ticker, source) -> str:
    return " | ".join(outcome(report, ticker, source).notes)


def manifests(world) -> dict[str, str]:
    return {
        source: (world.fetched / source / "manifest.csv").read_text()
        for source in SOURCES
        if (world.fetched / source / "manifest.csv").exists()
    }


def test_a_full_fetch_keeps_every_source_of_the_five_funds_as_it_arrived(world):
    report = world.fetch()

    assert report.exit_code() == FetchExitCode.OK, report.summary()
    assert counts(report, "FXI", "ishares") == (5, 0, 0)
    assert counts(report, "MCHI", "ishares") == (5, 0, 0)
    assert counts(report, "ASHR", "xtrackers") == (5, 0, 0)
    assert counts(report, "CQQQ", "invesco_navs") == (5, 0, 0)
    assert counts(report, "CQQQ", "invesco_prices") == (1, 0, 0)
    for ticker in CORE:  # two quarters of three months each
        assert counts(report, ticker, "sec_nport") == (6, 0, 0)
    assert outcome(report, "KWEB", "issuer").status == "not fetched"

    ishares = world.manifest("ishares")
    assert list(ishares.columns) == MANIFEST_COLUMNS
    assert list(ishares["ticker"]) == ["MCHI", "FXI"]  # in the universe's order
    fxi = ishares.set_index("ticker").loc["FXI"]
    body = ishares_workbook(history("FXI"))
    kept = world.fetched / fxi["file"]
    assert kept.read_bytes() == body
    assert fxi["sha256"] == hashlib.sha256(body).hexdigest()
    assert (fxi["bytes"], fxi["http_status"]) == (str(len(body)), "200")
    assert (fxi["format"], fxi["as_of"]) == ("ishares_workbook", "2025-12-29")
    assert fxi["file"].startswith("ishares/FXI/20260115T0615") and fxi["file"].endswith(
        "_FXI_fund.xls"
    )
    assert fxi["address"] == world.server.url(world.ishares_path("FXI"))
    assert dt.datetime.fromisoformat(fxi["fetched_at"]).tzinfo == dt.UTC

    formats = {source: set(world.manifest(source)["format"]) for source in SOURCES}
    assert formats == {
        "ishares": {"ishares_workbook"},
        "xtrackers": {"xtrackers_xlsx"},
        "invesco_navs": {"invesco_navs_json"},
        "invesco_prices": {"invesco_prices_json"},
        "sec_nport": {"nport_primary_doc"},
    }
    nport = world.manifest("sec_nport")
    assert len(nport) == 10
    assert sorted(set(nport["as_of"])) == [str(report_date) for _, report_date in QUARTERS]
    # Every listed file is in place, and nothing is in place unlisted.
    listed = {row for source in SOURCES for row in world.manifest(source)["file"]}
    assert listed == world.kept_files()
    assert world.staging_folders() == []
    # The issuers got the polite User-Agent, the SEC the one naming a person and an e-mail.
    agents = {
        request.path.split("/")[1]: request.headers["User-Agent"]
        for request in world.server.requests
    }
    assert agents["sec"] == SEC_USER_AGENT
    assert agents["ishares"] == agents["dws"] == agents["invesco"] == "china-tech-flows tests"

    # The summary: a table of every fund and source, notes, and the exit code.
    lines = report.summary().splitlines()
    assert lines[0].split() == (
        ["fund", "source", "rows", "new", "rows", "unchanged", "rows", "restated", "status"]
    )
    assert any(line.split() == ["FXI", "ishares", "5", "0", "0", "kept"] for line in lines)
    assert any(line.split() == ["KWEB", "sec_nport", "6", "0", "0", "kept"] for line in lines)
    assert "(exit code 0)" in lines[-1]


def test_a_second_fetch_a_day_later_adds_one_file_per_snapshot_source_and_nothing_else(world):
    world.fetch()
    before = {source: world.manifest(source) for source in SOURCES}
    files_before = world.kept_files()

    world.clock.advance(days=1)
    next_day = dt.date(2025, 12, 30)
    world.serve_prices(next_day)
    report = world.fetch()

    assert report.exit_code() == FetchExitCode.OK, report.summary()
    assert counts(report, "CQQQ", "invesco_prices") == (1, 0, 0)
    assert outcome(report, "FXI", "ishares").status == "unchanged"
    assert counts(report, "FXI", "ishares") == (0, 5, 0)
    assert outcome(report, "KWEB", "sec_nport").status == "up to date"
    new_files = world.kept_files() - files_before
    assert len(new_files) == 1 and new_files.pop().startswith("invesco_prices/CQQQ/20260116T")
    for source in SOURCES:
        after = world.manifest(source)
        if source == "invesco_prices":
            assert after.iloc[:-1].equals(before[source]) and len(after) == 2
            assert after.iloc[-1]["as_of"] == str(next_day)
        else:
            assert after.equals(before[source]), source


def test_a_web_page_sent_with_200_is_refused_and_the_other_sources_are_kept(world):
    world.server.serve(world.xtrackers_path("ASHR"), html_page("Xtrackers | Our funds"))

    report = world.fetch(["ASHR", "FXI"])

    assert outcome(report, "ASHR", "xtrackers").status == "failed"
    note = notes(report, "ASHR", "xtrackers")
    assert world.server.url(world.xtrackers_path("ASHR")) in note
    assert "the format changed: named .xlsx but it is an HTML page" in note
    assert report.exit_code() == FetchExitCode.SOME_FAILED
    assert world.manifest("xtrackers").empty
    assert len(world.manifest("ishares")) == 1 and len(world.manifest("sec_nport")) == 4


def test_the_sec_throttle_page_is_recognised_with_403_or_under_a_file_name(world):
    document = world.document_path("FXI", "0009999003-25-000000")
    world.server.script(document, Answer(sec_throttle_page()))  # 200, as primary_doc.xml
    world.server.script(world.filings_path("ASHR"), Answer(sec_throttle_page(), status=403))

    report = world.fetch(["FXI", "ASHR", "KWEB"])

    assert "'Request Rate Threshold Exceeded' page, not the file" in notes(
        report, "FXI", "sec_nport"
    )
    assert "HTTP 403" in notes(report, "ASHR", "sec_nport")
    assert "throttle page" in notes(report, "ASHR", "sec_nport")
    assert outcome(report, "KWEB", "sec_nport").status == "kept"
    assert report.exit_code() == FetchExitCode.SOME_FAILED


def test_a_changed_header_is_refused_naming_the_source_the_address_and_the_difference(world):
    changed = ishares_workbook(history("MCHI")).replace(b"NAV per Share", b"Price per Unit")
    world.server.serve(world.ishares_path("MCHI"), changed)

    report = world.fetch(["MCHI", "FXI"])

    failed = outcome(report, "MCHI", "ishares")
    assert failed.status == "failed"
    assert failed.failure.source == "ishares"
    assert failed.failure.address == world.server.url(world.ishares_path("MCHI"))
    assert "the format changed" in failed.failure.problem
    assert "NAV" in failed.failure.problem
    assert list(world.manifest("ishares")["ticker"]) == ["FXI"]


def test_a_truncated_file_is_refused_and_nothing_of_it_kept(world):
    body = ishares_workbook(history("FXI"))
    world.server.script(world.ishares_path("FXI"), Answer(body, cut_after=len(body) // 2))

    report = world.fetch(["MCHI", "FXI"])

    note = notes(report, "FXI", "ishares")
    assert f"cut short: {len(body) // 2:,} bytes arrived of the {len(body):,} announced" in note
    assert list(world.manifest("ishares")["ticker"]) == ["MCHI"]
    assert not any(name.startswith("ishares/FXI") for name in world.kept_files())
    assert world.staging_folders() == []


def test_a_timeout_is_retried_then_fails_that_source_only(world):
    world.write_config(**{"timeouts.read_seconds": 0.3})
    world.server.script(world.xtrackers_path("ASHR"), Answer(hang=True))

    report = world.fetch(["ASHR", "FXI"])

    assert len(world.server.requests_of(world.xtrackers_path("ASHR"))) == 3  # 1 + 2 retries
    assert "no answer in time" in notes(report, "ASHR", "xtrackers")
    assert 2.0 in world.clock.slept  # the backoff before the second retry: 1 s x 2^1
    assert report.exit_code() == FetchExitCode.SOME_FAILED
    assert outcome(report, "FXI", "ishares").status == "kept"


def test_429_then_an_answer_waits_as_told_and_keeps_the_answer(world):
    prices = world.prices_path()
    body = world.server.scripted_answer(prices).body
    world.server.script(
        prices, Answer(b"slow down", status=429, headers={"Retry-After": "7"}), Answer(body)
    )

    report = world.fetch(["CQQQ"])

    assert outcome(report, "CQQQ", "invesco_prices").status == "kept"
    assert len(world.server.requests_of(prices)) == 2
    assert 7.0 in world.clock.slept
    assert report.exit_code() == FetchExitCode.OK


def test_a_source_down_fails_alone_after_its_retries(world):
    world.server.script(world.navs_path("CQQQ"), Answer(b"<h1>Bad gateway</h1>", status=502))

    report = world.fetch(["CQQQ"])

    note = notes(report, "CQQQ", "invesco_navs")
    assert "HTTP 502" in note and "still after 2 retries" in note
    assert len(world.server.requests_of(world.navs_path("CQQQ"))) == 3
    assert outcome(report, "CQQQ", "invesco_prices").status == "kept"
    assert report.exit_code() == FetchExitCode.SOME_FAILED


def test_a_restating_refetch_is_reported_and_the_earlier_file_stays(world):
    world.fetch(["FXI"])
    earlier = world.manifest("ishares").set_index("ticker").loc["FXI", "file"]
    earlier_bytes = (world.fetched / earlier).read_bytes()

    world.clock.advance(days=1)
    restated = [(day, nav + (0.5 if day == DAYS[1] else 0), s) for day, nav, s in history("FXI")]
    world.server.serve(world.ishares_path("FXI"), ishares_workbook(restated))
    report = world.fetch(["FXI"])

    assert counts(report, "FXI", "ishares") == (0, 4, 1)
    assert "2025-12-23" in notes(report, "FXI", "ishares")
    assert report.exit_code() == FetchExitCode.OK  # a restatement is reported, never a failure
    assert "1 row(s) restated" in report.summary()
    fxi_files = list(world.manifest("ishares").query("ticker == 'FXI'")["file"])
    assert fxi_files[0] == earlier and len(fxi_files) == 2
    assert (world.fetched / earlier).read_bytes() == earlier_bytes


def test_an_amended_filing_is_kept_beside_the_original_with_its_restated_months(world):
    world.fetch(["KWEB"])
    world.clock.advance(days=1)
    filed, report_date = QUARTERS[0]
    flows = month_flows("KWEB", 0)
    flows[2] = (flows[2][0] + 1000.0, flows[2][1], flows[2][2])
    world.serve_filing("KWEB", 0, dt.date(2025, 9, 1), report_date, flows, amendment=1)

    report = world.fetch(["KWEB"])

    assert counts(report, "KWEB", "sec_nport") == (0, 2, 1)
    assert "2025-03-31" in notes(report, "KWEB", "sec_nport")
    kweb = world.manifest("sec_nport").query("ticker == 'KWEB'")
    assert len(kweb) == 3 and kweb["file"].iloc[-1].endswith("-000001_primary_doc.xml")


def test_until_bounds_the_report_dates_kept(world):
    report = world.fetch(["MCHI"], until=dt.date(2025, 5, 31))

    assert counts(report, "MCHI", "sec_nport") == (3, 0, 0)
    assert "2025-06-30, after 2025-05-31: not kept" in notes(report, "MCHI", "sec_nport")
    assert set(world.manifest("sec_nport")["as_of"]) == {"2025-03-31"}

    world.clock.advance(days=1)
    report = world.fetch(["MCHI"])
    assert counts(report, "MCHI", "sec_nport") == (3, 0, 0)
    assert len(world.server.requests_of(world.document_path("MCHI", "0009999002-25-000000"))) == 1


def test_a_filing_of_another_series_in_the_list_is_not_kept(world):
    # The list of FXI's series also names a filing of MCHI (same trust, so same folder).
    world.filings["FXI"].append(world.filings["MCHI"][0])
    world.server.serve(
        world.filings_path("FXI"),
        filings_atom(SERIES["FXI"][1], world.filings["FXI"], world.server.url("/sec")),
    )

    report = world.fetch(["FXI"])

    assert "is a filing of series S000000003, not of FXI's S000000004" in notes(
        report, "FXI", "sec_nport"
    )
    assert counts(report, "FXI", "sec_nport") == (6, 0, 0)


class Killed(BaseException):
    """Stands for a kill: nothing catches it."""


def kill_at_move(monkeypatch, number: int) -> None:
    """Make the `number`-th move of a staged file into place (1-based) kill the fetch."""
    real_move = kept_files.move_into_place
    moves = []

    def move_or_die(staged, destination):
        moves.append(destination)
        if len(moves) == number:
            raise Killed
        real_move(staged, destination)

    monkeypatch.setattr(kept_files, "move_into_place", move_or_die)


def test_a_fetch_killed_before_moving_anything_leaves_every_manifest_as_it_was(world, monkeypatch):
    world.fetch(["FXI", "CQQQ"])
    good, files = manifests(world), world.kept_files()
    world.clock.advance(days=1)
    world.serve_prices(dt.date(2025, 12, 30))

    kill_at_move(monkeypatch, 1)
    with pytest.raises(Killed):
        world.fetch(["FXI", "CQQQ"])

    assert manifests(world) == good and world.kept_files() == files
    assert world.staging_folders() == []


def test_a_fetch_killed_while_moving_lists_only_files_in_place_and_the_next_finishes(
    world, monkeypatch
):
    world.fetch(["FXI", "CQQQ"])
    before = manifests(world)
    world.clock.advance(days=1)
    world.serve_prices(dt.date(2025, 12, 30))
    world.server.serve(world.ishares_path("FXI"), ishares_workbook(history("FXI")[1:]))

    kill_at_move(monkeypatch, 2)  # the FXI workbook is in place, the CQQQ prices are not
    with pytest.raises(Killed):
        world.fetch(["FXI", "CQQQ"])
    monkeypatch.undo()

    after = manifests(world)
    assert after["invesco_prices"] == before["invesco_prices"]
    assert len(world.manifest("ishares")) == 2  # the FXI workbook: in place, then listed
    listed = {row for source in SOURCES for row in world.manifest(source)["file"]}
    assert listed == world.kept_files()

    # A fetch killed outright leaves its staging folder: the next one sweeps it and keeps all.
    (world.project.work_dir / "fetch" / "staging-killed" / "ishares").mkdir(parents=True)
    world.clock.advance(seconds=60)
    report = world.fetch(["FXI", "CQQQ"])
    assert outcome(report, "CQQQ", "invesco_prices").status == "kept"
    assert outcome(report, "FXI", "ishares").status == "unchanged"
    assert world.staging_folders() == []
    assert len(world.manifest("invesco_prices")) == 2 and len(world.manifest("ishares")) == 2


def test_files_are_put_in_place_only_under_the_run_lock(world):
    world.project.work_dir.mkdir()
    lock = filelock.FileLock(world.project.lock_file, timeout=0)
    with lock, pytest.raises(RunInProgress, match="nothing was kept"):
        world.fetch(["FXI"], lock_wait_seconds=0)
    assert not world.fetched.exists()
    assert world.staging_folders() == []
    assert world.fetch(["FXI"]).exit_code() == FetchExitCode.OK


def test_a_redirect_to_another_host_is_refused_and_one_within_the_host_followed(world):
    ashr = world.xtrackers_path("ASHR")
    world.server.script(ashr, Answer(redirect_to=world.server.url(ashr, host="localhost")))
    navs = world.navs_path("CQQQ")
    world.server.serve("/moved/navs", world.server.scripted_answer(navs).body)
    world.server.script(navs, Answer(redirect_to="/moved/navs"))

    report = world.fetch(["ASHR", "CQQQ"])

    note = notes(report, "ASHR", "xtrackers")
    assert "redirected from 127.0.0.1 to another host, localhost" in note
    assert outcome(report, "CQQQ", "invesco_navs").status == "kept"
    assert world.manifest("invesco_navs")["address"].tolist() == [world.server.url(navs)]


def test_an_answer_over_the_size_cap_is_refused(world):
    world.write_config(**{"sources.ishares.max_bytes": 2000})

    report = world.fetch(["FXI"])

    assert "larger than this source's cap" in notes(report, "FXI", "ishares")
    assert "max_bytes = 2,000 bytes" in notes(report, "FXI", "ishares")
    assert world.manifest("ishares").empty


def test_without_an_sec_user_agent_the_sec_is_not_asked_and_counts_as_failed(world):
    world.write_config(sec_user_agent="")

    report = world.fetch(["FXI", "KWEB"])

    assert all(outcome(report, t, "sec_nport").notes == [NO_USER_AGENT] for t in ["FXI", "KWEB"])
    assert not any(request.path.startswith("/sec") for request in world.server.requests)
    assert report.exit_code() == FetchExitCode.SOME_FAILED
    assert SEC_USER_AGENT_ENV_VAR in NO_USER_AGENT


def test_the_environment_gives_the_sec_user_agent(world, monkeypatch):
    world.write_config(sec_user_agent="")
    monkeypatch.setenv(SEC_USER_AGENT_ENV_VAR, "Other Researcher other@example.org")

    report = world.fetch(["KWEB"])

    assert outcome(report, "KWEB", "sec_nport").status == "kept"
    sec = [r for r in world.server.requests if r.path.startswith("/sec")]
    assert {r.headers["User-Agent"] for r in sec} == {"Other Researcher other@example.org"}


def test_the_sec_is_paced_to_its_rate(world):
    world.fetch()

    # The fake clock moves only when the pacer sleeps: 1 + 5 + 10 SEC requests at 10 a second.
    assert sum(world.clock.slept) >= 1.0


def test_an_empty_cusip_skips_invesco_prices_with_a_message(world):
    world.write_config(**{"sources.invesco_prices.funds": {"CQQQ": {"cusip": ""}}})

    report = world.fetch(["CQQQ"])

    skipped = outcome(report, "CQQQ", "invesco_prices")
    assert skipped.status == "skipped"
    assert "sources.invesco_prices.funds.CQQQ.cusip" in skipped.notes[0]
    assert report.exit_code() == FetchExitCode.OK
    assert not world.server.requests_of(world.prices_path(CQQQ_CUSIP))
