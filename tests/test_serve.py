"""seqforge serve: a real uvicorn server on 127.0.0.1 (a free port), started and stopped by
the test, called by a real HTTP client — predictions equal Run.predict's, bad requests
are 4xx JSON (fuzzed: never a 5xx), bodies are size-limited, a port in use is exit 2."""

from __future__ import annotations

from http.client import HTTPConnection
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqforge.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from tool_helpers import ROOT, http, multipart, post_json, train_tiny  # noqa: E402

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def server(run):
    from seqforge.serve import BackgroundServer

    with BackgroundServer(run, max_body=64 * 1024) as s:
        yield s


def _prices(n=30):
    return [float(v) for v in np.linspace(300.0, 420.0, n)]


def test_health_and_metadata(server, run):
    assert http(server.url + "/health") == (200, {"status": "ok", "name": "tiny_stock",
                                                 "task": "forecast"})
    status, meta = http(server.url + "/metadata")
    assert status == 200
    assert (meta["task"], meta["input_columns"], meta["window"], meta["targets"]) == \
        ("forecast", ["Open"], 12, ["Open"])
    assert meta["future_columns"] == []
    assert meta["data"] == json.loads(json.dumps(run.info.to_state()))


def test_predict_takes_the_same_tables_as_seqforge_predict(server, run, tmp_path):
    prices = _prices()
    want = run.predict({"Open": prices})
    assert len(want) == len(prices) - 12 + 1
    forms = [{"columns": ["Open"], "rows": [[p] for p in prices]}, {"data": {"Open": prices}},
             [{"Open": p} for p in prices]]
    for body in forms:
        assert post_json(server.url + "/predict", body) == (200, {"predictions": want,
                                                                   "count": len(want)})
    csv_text = ("Date,Open\n" + "".join(f"2020-01-{i + 1:02d},{p}\n" for i, p in enumerate(prices))).encode()
    path = tmp_path / "recent.csv"
    path.write_bytes(csv_text)
    dated = run.predict(path)  # a file with dates: each forecast says which day it follows
    assert [{k: v for k, v in r.items() if k != "after"} for r in dated] == want
    body, ctype = multipart("file", "recent.csv", csv_text)
    assert http(server.url + "/predict", body, ctype=ctype)[1]["predictions"] == dated
    assert http(server.url + "/predict", csv_text, ctype="text/csv")[1]["predictions"] == dated
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(path)])  # the CLI's rows
    assert res.exit_code == 0 and len(res.stdout.strip().splitlines()) == len(want) + 1


@pytest.mark.parametrize("body,ctype,status,expect", [
    (b"{", "application/json", 400, "not JSON"),
    (b"[]", "application/json", 422, "expected a JSON table"),
    (b'{"data": {"Close": [1, 2]}}', "application/json", 422, "'Open'"),
    (b'{"data": {"Open": [1, 2]}}', "application/json", 422, "needs at least 12 rows"),
    (b'{"columns": ["Open"], "rows": [[1], [2, 3]]}', "application/json", 422, "row 1 has 2"),
    (json.dumps({"data": {"Open": ["a"] * 20}}).encode(), "application/json", 422, "not a number"),
    (b"<x/>", "application/xml", 415, "unsupported content type"),
    (b"", "text/csv", 422, "empty"),
])
def test_bad_requests_are_4xx_json(server, body, ctype, status, expect):
    got, payload = http(server.url + "/predict", body, ctype=ctype)
    assert got == status and expect in payload["error"], payload
    assert "Traceback" not in json.dumps(payload) and "/tmp/" not in payload["error"]


def test_unknown_routes_and_methods_are_json_too(server):
    assert http(server.url + "/nope") == (404, {"error": "Not Found", "status": 404})
    assert http(server.url + "/predict")[0] == 405


def test_bodies_over_the_limit_are_413_declared_or_streamed(server):
    status, payload = http(server.url + "/predict", b"x" * (65 * 1024), ctype="text/csv")
    assert status == 413 and "at most 65,536" in payload["error"]
    host, port = server.url.removeprefix("http://").split(":")
    conn = HTTPConnection(host, int(port), timeout=30)
    chunks = (b"Open\n" + b"1.0\n" * 5000 for _ in range(10))  # chunked: no Content-Length
    conn.request("POST", "/predict", body=chunks, headers={"Content-Type": "text/csv"},
                 encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 413 and "at most" in json.loads(resp.read())["error"]
    conn.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                         lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.sampled_from(["columns", "rows", "data", "Open", "x"]),
                                           inner, max_size=3), max_leaves=12))
def test_no_json_body_gets_a_5xx(server, body):
    status, payload = http(server.url + "/predict", json.dumps(body).encode())
    assert status in (200, 400, 413, 422), (status, payload)
    assert isinstance(payload, dict) and ("error" in payload or "predictions" in payload)


def test_the_listening_socket_is_tcp_so_responses_skip_nagle():
    import socket as s

    from seqforge.serve import bind

    sock = bind("127.0.0.1", 0)  # asyncio sets TCP_NODELAY only on proto == IPPROTO_TCP
    try:
        assert sock.proto == s.IPPROTO_TCP
    finally:
        sock.close()


def test_serve_refuses_a_port_in_use_a_missing_run_and_a_non_run_dir(run, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = runner.invoke(app, ["serve", str(run.dir), "--port", str(port)])
        assert res.exit_code == 2 and f"port {port} on 127.0.0.1 is in use" in res.output
    res = runner.invoke(app, ["serve", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no such run directory" in res.output
    assert runner.invoke(app, ["serve", str(tmp_path)]).exit_code == 2
    res = runner.invoke(app, ["serve", str(run.dir), "--host", "no.such.host.invalid"])
    assert res.exit_code == 2 and "--host" in res.output
    assert runner.invoke(app, ["serve", str(run.dir), "--port", "70000"]).exit_code == 2


def test_serve_without_the_extra_names_it(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    res = runner.invoke(app, ["serve", str(run.dir)])
    assert res.exit_code == 2 and "pip install 'seqforge[serve]'" in res.output


def test_the_command_serves_until_stopped(run):
    proc = subprocess.Popen([sys.executable, "-m", "seqforge", "serve", str(run.dir), "--port",
                             "0", "--no-access-log"], cwd=ROOT, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        line = proc.stderr.readline()  # "serving tiny_stock (forecast) from … at http://…"
        url = line.rsplit(" at ", 1)[1].strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                assert http(url + "/health")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert post_json(url + "/predict", {"data": {"Open": _prices()}})[1]["count"] == 19
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) in (0, -15)
