"""fetch.yaml: the shipped file loads, and every kind of mistake is refused naming its key."""

from __future__ import annotations

import pytest
import yaml

from helpers.fetch.sources_file import (
    SEC_USER_AGENT_ENV_VAR,
    SourcesFileError,
    load_sources_file,
)
from helpers.paths import DEFAULT_LAYOUT, FETCH_SOURCES_FILE

SHIPPED = DEFAULT_LAYOUT.root / FETCH_SOURCES_FILE


def shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def load(tmp_path, content: dict):
    path = tmp_path / "fetch.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return load_sources_file(path)


def refusal(tmp_path, content: dict) -> str:
    with pytest.raises(SourcesFileError) as refused:
        load(tmp_path, content)
    return str(refused.value)


def test_the_shipped_sources_file_loads_with_the_documented_addresses():
    config = load_sources_file(SHIPPED)

    assert config.sources.ishares.address("FXI").endswith(
        "portfolioId=239536&targetSite=us-ishares&userType=individual"
    )
    assert config.sources.xtrackers.address("ASHR") == (
        "https://etf.dws.com/api/pdp/en-us/Export/etf/ASHR/Performance"
    )
    assert config.sources.invesco_prices.funds["CQQQ"] == {"cusip": ""}  # to be filled in
    assert config.sources.sec_nport.requests_per_second <= 10
    assert set(config.not_fetched) == {"KWEB", "KTEC"}
    assert config.sec_user_agent == ""


def test_an_unknown_key_is_refused_with_its_place(tmp_path):
    content = shipped()
    content["sources"]["ishares"]["timeout"] = 5
    content["retry"] = {}

    message = refusal(tmp_path, content)

    assert "sources.ishares.timeout: unknown key" in message
    assert "retry: unknown key" in message


def test_a_missing_or_unknown_placeholder_is_refused(tmp_path):
    content = shipped()
    content["sources"]["ishares"]["url"] = "https://example.org/fund?id={portfolioid}"
    content["sources"]["sec_nport"]["document_url"] = "https://example.org/{cik}/primary_doc.xml"

    message = refusal(tmp_path, content)

    assert "sources.ishares.url: the placeholder {portfolio_id} is missing" in message
    assert "sources.ishares.url: unknown placeholder(s) {portfolioid}" in message
    assert "sources.sec_nport.document_url: the placeholder {accession} is missing" in message


def test_a_fund_without_its_id_or_with_an_unknown_one_is_refused(tmp_path):
    content = shipped()
    content["sources"]["ishares"]["funds"]["FXI"] = {}
    content["sources"]["xtrackers"]["funds"]["ASHR"] = {"isin": "US0000000000"}

    message = refusal(tmp_path, content)

    assert "sources.ishares.funds.FXI: missing 'portfolio_id'" in message
    assert "sources.xtrackers.funds.ASHR: unknown key 'isin'" in message


def test_values_out_of_range_are_refused(tmp_path):
    content = shipped()
    content["sources"]["sec_nport"]["requests_per_second"] = 50
    content["sources"]["xtrackers"]["max_bytes"] = 0
    content["sources"]["ishares"]["funds"]["fxi"] = {"portfolio_id": "1"}

    message = refusal(tmp_path, content)

    assert "sources.sec_nport.requests_per_second" in message
    assert "sources.xtrackers.max_bytes" in message
    assert "sources.ishares.funds.fxi" in message


def test_a_missing_or_unreadable_file_is_refused(tmp_path):
    with pytest.raises(SourcesFileError, match="no such file"):
        load_sources_file(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("sources: [unclosed\n")
    with pytest.raises(SourcesFileError, match="not a readable YAML file"):
        load_sources_file(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    ("in_file", "in_environment", "resolved"),
    [
        ("", None, ""),
        ("Jane Doe jane@example.org", None, "Jane Doe jane@example.org"),
        ("Jane Doe jane@example.org", "Lab X lab@example.net", "Lab X lab@example.net"),
        ("jane@example.org", None, ""),  # an e-mail without a name
        ("Jane Doe", None, ""),  # a name without an e-mail
    ],
)
def test_the_sec_user_agent_needs_a_name_and_an_email(
    tmp_path, monkeypatch, in_file, in_environment, resolved
):
    monkeypatch.delenv(SEC_USER_AGENT_ENV_VAR, raising=False)
    if in_environment:
        monkeypatch.setenv(SEC_USER_AGENT_ENV_VAR, in_environment)
    content = shipped()
    content["sec_user_agent"] = in_file

    assert load(tmp_path, content).resolved_sec_user_agent() == resolved
