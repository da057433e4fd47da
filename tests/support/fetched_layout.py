"""Files placed in data/raw/fetched/ as `chinaflows fetch` keeps them: each download under
fetched/<source>/<TICKER>/<UTC time>_<name>, with its row in fetched/<source>/manifest.csv
(columns ticker,file,address,fetched_at,sha256,http_status,bytes,format,as_of)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

MANIFEST_COLUMNS = [
    "ticker",
    "file",
    "address",
    "fetched_at",
    "sha256",
    "http_status",
    "bytes",
    "format",
    "as_of",
]
FORMATS = {
    "ishares": "ishares_workbook",
    "xtrackers": "xtrackers_xlsx",
    "invesco_navs": "invesco_navs_json",
    "invesco_prices": "invesco_prices_json",
    "sec_nport": "nport_primary_doc",
}


def keep_download(
    raw_dir: Path,
    source: str,
    ticker: str,
    name: str,
    content: bytes,
    fetched_at: dt.datetime,
    *,
    address: str = "",
    as_of: str = "",
    listed: bool = True,
) -> Path:
    """Write `content` where `fetch` keeps a download of `source` for `ticker` at `fetched_at`
    (UTC), and, when `listed`, its manifest row (a file without one is what a fetch killed
    before listing it leaves). Returns the file's path."""
    stamp = fetched_at.strftime("%Y%m%dT%H%M%SZ")
    relative = f"{source}/{ticker}/{stamp}_{name}"
    path = raw_dir / "fetched" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if listed:
        manifest = raw_dir / "fetched" / source / "manifest.csv"
        new = not manifest.exists()
        with manifest.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(MANIFEST_COLUMNS)
            writer.writerow(
                [
                    ticker,
                    relative,
                    address or f"https://{source}.example/{ticker}",
                    fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    hashlib.sha256(content).hexdigest(),
                    200,
                    len(content),
                    FORMATS[source],
                    as_of,
                ]
            )
    return path
