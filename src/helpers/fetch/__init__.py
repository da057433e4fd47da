"""`chinaflows fetch`: real fund data from the issuers and the SEC, kept as it arrived.

Stages, one module each:

1. `sources_file`: fetch.yaml, every address and setting, validated on load.
2. `transport`: downloads from outside (size caps, retries on timeouts, 429 and 5xx, pacing
   of the SEC, redirects only within a source's host).
3. `arrival_checks` and `sec_indexes`: what arrived, sniffed and read before it is kept (issuer
   files and N-PORT filings with the study's readers, the SEC's ticker and filing lists with
   their own small parsers).
4. `issuers` and `sec_nport`: what each source offers each fund; `session`: one fetch's state.
5. `kept_files`: staging, the manifests, comparisons with the files kept before, and putting
   files in place under the run lock.
6. `outcomes` and `fetching`: the report and its exit code; the whole fetch.
"""
