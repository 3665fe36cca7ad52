"""Large reads through Salesforce's Bulk API 2.0 query jobs, answered as frames of our schema.

A read creates a query job (``POST jobs/query``), polls it until ``JobComplete`` with a growing pause, then
pages its CSV results (``GET jobs/query/{id}/results``) by the ``Sforce-Locator`` each answer names until
that is ``null``. Each page is read by ``polars.read_csv`` as text and cast by ``core.frames.conform``.

Every request goes through ``SalesforceClient.call``, so retries, session renewal and fault classification
are the REST calls' own. A results page is fetched again by the same locator on a retry (a locator names
a fixed set of rows as long as the job exists), so a retried page is neither lost nor read twice.

simple-salesforce's ``bulk2`` is not used: its query helper creates, waits (24 hours, its own sleep) and
pages in one generator, so a retry could only restart the whole job; its per-page call is private.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.util import call_salesforce

from revloops.adapters.salesforce import soql
from revloops.adapters.salesforce.transport import SalesforceClient
from revloops.core.errors import (
    InputError,
    RecordRejected,
    RevloopsError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from revloops.core.frames import CHUNK_ROWS, conform, empty_frame, frame_schema
from revloops.ports.crm import Filter

_CSV = "text/csv"


@dataclass(frozen=True)
class BulkOptions:
    """How a Bulk API 2.0 read runs.

    Attributes:
        page_records: ``maxRecords`` of a results page (Salesforce may answer fewer).
        poll_interval: seconds before the second poll; the pause doubles up to ``max_poll_interval``.
        max_poll_interval: the longest pause between two polls.
        poll_timeout: seconds a job may take before the read gives up (and aborts the job).
        rest_max_rows: a read whose ``limit`` is at most this uses the REST query instead of a job.
        clock: monotonic seconds (injectable for tests).
    """

    page_records: int = 50_000
    poll_interval: float = 0.5
    max_poll_interval: float = 10.0
    poll_timeout: float = 900.0
    rest_max_rows: int = 2000
    clock: Callable[[], float] = time.monotonic


def check_read(sobject: str, columns: Sequence[str], *, chunk_rows: int | None = None,
               limit: int | None = None, modified_since: dt.datetime | None = None) -> tuple[str, int]:
    """The SOQL of a columnar read and its chunk size (``CHUNK_ROWS`` when None or 0), checked before anything
    is sent.

    Raises:
        InputError: an unknown object or column, a column named twice, a negative limit or chunk size.
    """
    size = chunk_rows or CHUNK_ROWS
    if size < 1:
        raise InputError("chunk_rows must be at least 1", field="chunk_rows")
    if not columns or len(set(columns)) != len(columns):
        raise InputError("name each column once, at least one", field="columns")
    since = (Filter("SystemModstamp", "gte", modified_since),) if modified_since is not None else ()
    text = soql.select(sobject, columns, since, limit=limit)
    frame_schema(sobject, columns)  # every column has a dtype
    return text, size


def read_frames(client: SalesforceClient, sobject: str, columns: Sequence[str], *, chunk_rows: int | None = None,
                limit: int | None = None, options: BulkOptions | None = None,
                modified_since: dt.datetime | None = None) -> Iterator[pl.DataFrame]:
    """Every record of ``sobject`` (at most ``limit``; with ``modified_since``, those whose ``SystemModstamp``
    is at or after it) as frames of ``columns``, at most ``chunk_rows`` rows each.

    The read is checked (``check_read``) when called; the job is created when the first frame is asked for.

    Raises:
        InputError: a read ``check_read`` refuses, or a query Salesforce refused.
        UpstreamRejected: the job failed (naming Salesforce's ``errorMessage``) or a page was not the CSV asked for.
        UpstreamUnavailable: the job was aborted, did not finish within ``poll_timeout``, or Salesforce stayed down.
    """
    text, size = check_read(sobject, columns, chunk_rows=chunk_rows, limit=limit, modified_since=modified_since)
    return _rechunk(_frames(client, sobject, list(columns), text, options or BulkOptions()), size)


def _frames(client: SalesforceClient, sobject: str, columns: list[str], text: str,
            opts: BulkOptions) -> Iterator[pl.DataFrame]:
    job_id = _create_job(client, sobject, text)
    _wait(client, sobject, job_id, opts)
    locator: str | None = None
    while True:
        body, locator, count = _results_page(client, sobject, job_id, locator, opts.page_records)
        frame = parse_page(body, sobject, columns)
        if count is not None and count != frame.height:
            raise UpstreamRejected(f"a Bulk API results page of job {job_id} said {count} records but held "
                                   f"{frame.height}")
        if frame.height:
            yield frame
        if locator is None:
            return


def _request(sf: Salesforce, client: SalesforceClient, method: str, path: str, *, accept: str = "application/json",
             **kwargs: Any) -> requests.Response:
    headers = {**sf.headers, "Accept": accept}
    url = f"{sf.bulk2_url}query{path}"
    return call_salesforce(url, method, sf.session, headers, **client.request_kwargs, **kwargs)


def _create_job(client: SalesforceClient, sobject: str, text: str) -> str:
    body = {"operation": "query", "query": text, "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}
    try:
        # A repeated create after a lost answer only leaves one more read-only job behind: safe to retry.
        job = client.call(lambda sf: _request(sf, client, "POST", "", json=body).json(),
                          what=f"create a Bulk API query job on {sobject}")
    except RecordRejected as exc:
        raise InputError(f"Salesforce refused the query: {exc.status_code}: {exc.message}",
                         field=",".join(exc.fields) or None) from None
    return str(job["id"])


def _wait(client: SalesforceClient, sobject: str, job_id: str, opts: BulkOptions) -> None:
    """Poll the job until it completes; raise for a failed, aborted or overdue job."""
    deadline = opts.clock() + opts.poll_timeout
    pause = opts.poll_interval
    while True:
        info = client.call(lambda sf: _request(sf, client, "GET", f"/{job_id}").json(),
                           what=f"poll Bulk API query job {job_id}")
        state = str(info.get("state"))
        reason = info.get("errorMessage") or "no reason given"
        if state == "JobComplete":
            return
        if state == "Failed":
            raise UpstreamRejected(f"Salesforce's Bulk API query job {job_id} on {sobject} failed: {reason}")
        if state == "Aborted":
            raise UpstreamUnavailable(f"Salesforce's Bulk API query job {job_id} on {sobject} was aborted: {reason}")
        if opts.clock() + pause > deadline:
            raise UpstreamUnavailable(f"Salesforce's Bulk API query job {job_id} on {sobject} was still {state} "
                                      f"after {opts.poll_timeout:g}s; {_abort(client, job_id)}")
        client.sleep(pause)
        pause = min(pause * 2, opts.max_poll_interval)


def _abort(client: SalesforceClient, job_id: str) -> str:
    try:
        client.call(lambda sf: _request(sf, client, "PATCH", f"/{job_id}", json={"state": "Aborted"}),
                    what=f"abort Bulk API query job {job_id}")
    except RevloopsError as exc:  # the timeout is the error to report; the abort is a courtesy
        return f"aborting it failed too: {exc.message}"
    return "the job was aborted"


def _results_page(client: SalesforceClient, sobject: str, job_id: str, locator: str | None,
                  max_records: int) -> tuple[bytes, str | None, int | None]:
    """One page's CSV, the locator of the next (None after the last) and the record count Salesforce gave."""
    params: dict[str, str | int] = {"maxRecords": max_records}
    if locator is not None:
        params["locator"] = locator
    response = client.call(lambda sf: _request(sf, client, "GET", f"/{job_id}/results", accept=_CSV, params=params),
                           what=f"read results of Bulk API query job {job_id} on {sobject}")
    following = response.headers.get("Sforce-Locator") or "null"
    count = response.headers.get("Sforce-NumberOfRecords", "")
    return response.content, None if following == "null" else following, int(count) if count.isdigit() else None


def parse_page(body: bytes, sobject: str, columns: Sequence[str]) -> pl.DataFrame:
    """One results page (CSV, header row first, every field text) as a frame of the schema of ``columns``.

    Salesforce stores no empty text, so an empty field, quoted or not, is null.

    Raises:
        UpstreamRejected: the page's columns are not the ones the query selected.
    """
    if not body.strip():
        return empty_frame(sobject, columns)
    try:
        raw = pl.read_csv(body, infer_schema=False, has_header=True)
    except pl.exceptions.PolarsError as exc:
        raise UpstreamRejected(f"a Bulk API results page is not CSV polars can read: {exc}") from None
    if [c.casefold() for c in raw.columns] != [c.casefold() for c in columns]:
        raise UpstreamRejected(f"a Bulk API results page has columns {raw.columns}, the query asked for "
                               f"{list(columns)}")
    raw = raw.rename(dict(zip(raw.columns, columns, strict=True))).with_columns(pl.all().replace("", None))
    return conform(raw, sobject, columns)


def _rechunk(frames: Iterator[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """Frames of exactly ``rows`` rows (the last may be shorter) from frames of any size."""
    held: list[pl.DataFrame] = []
    count = 0
    for frame in frames:
        held.append(frame)
        count += frame.height
        if count < rows:
            continue
        joined = pl.concat(held, rechunk=False)
        start = 0
        while count - start >= rows:
            yield joined.slice(start, rows).rechunk()
            start += rows
        rest = joined.slice(start)
        held, count = ([rest], rest.height) if rest.height else ([], 0)
    if count:
        yield pl.concat(held).rechunk()
