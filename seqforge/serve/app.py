"""The HTTP JSON API of a run directory (FastAPI on Starlette; served by uvicorn).

``POST /predict`` takes what ``seqforge predict`` takes — a table of the dataset's
columns — in one of three forms, and answers ``{"predictions": [row, …], "count": n}``
with rows as ``Run.predict`` gives them (prices in dollars, labels, decoded strings):

* JSON ``{"columns": ["Open", …], "rows": [[…], …]}``, ``{"data": {"Open": […], …}}``
  (a mapping of columns) or ``[{"Open": …}, …]`` (records);
* a file upload (``multipart/form-data``, field ``file``), read by the run's dataset
  exactly as ``seqforge predict --input`` reads a file of that name's suffix;
* a CSV body (``Content-Type: text/csv``).

``GET /health`` and ``GET /metadata`` (task, input columns, window, classes and the
run's whole saved data description). Bad requests are 4xx JSON ``{"error": …}`` — 400
unreadable, 413 too large (``max_body`` bytes, counted as the body arrives), 415 another
content type, 422 inputs the run cannot use — and an unexpected failure is a 500 with a
one-line JSON error, never a traceback.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations
# (``request: Request``, imported inside create_app so that fastapi stays optional)
import json
import math
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..errors import SeqforgeError
from ..version import __version__
from .limits import BadRequest, BodyLimit

DEFAULT_MAX_BODY = 10 << 20  # 10 MiB: a few hundred thousand rows of prices


def metadata(run) -> dict[str, Any]:
    """What a client needs to call ``/predict``, from the run's saved DataInfo."""
    state = run.info.to_state()
    facets = state.get("facets", {})
    inputs, window, classes = None, None, None
    for f in facets.values():
        inputs = inputs or f.get("inputs") or f.get("input_columns") or (
            [f["value_column"]] if f.get("value_column") else None)
        window = window or f.get("window")
    if "classes" in facets:
        classes = facets["classes"].get("names")
    return {"name": run.spec.name, "task": run.spec.task.name,
            "dataset": run.spec.data.dataset.name, "input": state.get("input"),
            "input_columns": inputs, "window": window, "classes": classes,
            "targets": next((f["targets"] for f in facets.values() if f.get("targets")), None),
            # known-future columns: /predict needs horizon rows past the end holding them
            "future_columns": next((f["future"] for f in facets.values() if f.get("future")),
                                   []),
            "model": {"topology": run.spec.model.topology.name, "cell": run.spec.model.cell.name,
                      "hidden_size": run.spec.model.hidden_size,
                      "num_layers": run.spec.model.num_layers},
            "summary": {k: run.summary.get(k) for k in ("test", "baseline", "beats_baseline")
                        if k in run.summary},
            "run_dir": str(run.dir) if run.dir else None, "seqforge": __version__,
            "data": state}


def json_table(body: Any) -> tuple[Any, list[str] | None]:
    """A JSON body → (table, columns) for ``Run.predict``; BadRequest(422) explaining the
    accepted forms otherwise."""
    forms = ('{"columns": [...], "rows": [[...], ...]}, {"data": {"column": [...], ...}} '
             'or [{"column": value, ...}, ...]')
    if isinstance(body, dict) and "rows" in body:
        cols, rows = body.get("columns"), body["rows"]
        if not (isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)):
            raise BadRequest(422, '"columns" must be a non-empty list of column names')
        if not (isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows)):
            raise BadRequest(422, '"rows" must be a non-empty list of rows (lists of values)')
        bad = next((i for i, r in enumerate(rows) if len(r) != len(cols)), None)
        if bad is not None:
            raise BadRequest(422, f"row {bad} has {len(rows[bad])} values; columns names "
                                  f"{len(cols)}")
        return rows, cols
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and len(body) == 1:
        data = body["data"]
        if not data or not all(isinstance(v, list) for v in data.values()):
            raise BadRequest(422, '"data" must map each column name to a list of values')
        return data, None
    if isinstance(body, list) and body and all(isinstance(r, dict) for r in body):
        names = list(dict.fromkeys(k for r in body for k in r))
        return {n: [r.get(n) for r in body] for n in names}, None
    raise BadRequest(422, f"expected a JSON table: {forms}")


def _clean(v: Any) -> Any:
    """JSON has no NaN/inf: they become null (a row a model could not score)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy / torch scalars
        return _clean(v.item())
    return v


def create_app(run, *, max_body: int = DEFAULT_MAX_BODY):
    """The ASGI application serving ``run`` (a :class:`~seqforge.api.runs.Run`)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    app = FastAPI(title=f"seqforge · {run.spec.name}", version=__version__,
                  description=f"{run.spec.task.name} model served from {run.dir}")
    lock = threading.Lock()  # one prediction at a time: the model is not re-entrant-safe

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "status": status}, status_code=status)

    @app.exception_handler(BadRequest)
    async def _bad(request, exc: BadRequest):
        return error(exc.status, exc.message)

    @app.exception_handler(HTTPException)
    async def _http(request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        return error(422, "; ".join(str(e.get("msg")) for e in exc.errors()) or "invalid request")

    @app.exception_handler(Exception)
    async def _crash(request, exc):  # logged by uvicorn; the client gets one line
        return error(500, f"internal error ({type(exc).__name__}); the server log has details")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "name": run.spec.name, "task": run.spec.task.name}

    @app.get("/metadata")
    def meta() -> dict[str, Any]:
        return _clean(metadata(run))

    @app.post("/predict")
    async def predict(request: Request):
        inputs, columns, tmp = await _read_inputs(request)
        try:
            rows = await run_in_threadpool(_predict, run, lock, inputs, columns)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return JSONResponse({"predictions": _clean(rows), "count": len(rows)})

    return BodyLimit(app, max_body)


async def _read_inputs(request) -> tuple[Any, list[str] | None, Path | None]:
    """The request's table: (inputs for Run.predict, columns, a temporary file to remove)."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=4)
        except BadRequest:
            raise
        except Exception as e:  # python-multipart's parse errors, too many parts
            raise BadRequest(400, f"unreadable multipart body ({str(e)[:200]})") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest(422, 'a multipart request sends its table as the field "file"')
        suffix = Path(upload.filename or "").suffix[:16] or ".csv"
        path = _spool(await upload.read(), suffix)
        return path, None, path
    body = await request.body()
    if ctype in ("text/csv", "text/plain"):
        path = _spool(body, ".csv" if ctype == "text/csv" else ".txt")
        return path, None, path
    if ctype != "application/json":
        raise BadRequest(415, f"unsupported content type {ctype!r}: send application/json, "
                              "text/csv or multipart/form-data (a file field)")
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise BadRequest(400, f"the body is not JSON ({str(e)[:120]})") from None
    table, columns = json_table(parsed)
    return table, columns, None


def _spool(data: bytes, suffix: str) -> Path:
    if not data:
        raise BadRequest(422, "the uploaded table is empty")
    with tempfile.NamedTemporaryFile(prefix="seqforge-serve-", suffix=suffix, delete=False) as f:
        f.write(data)
    return Path(f.name)


def _predict(run, lock, inputs, columns) -> list[dict[str, Any]]:
    from ..data.io.table import as_table

    try:
        if not isinstance(inputs, Path):  # a table, never prepared model inputs (an "x" column)
            inputs, columns = as_table(inputs, columns=columns, source="request"), None
        with lock:
            return run.predict(inputs, columns=columns)
    except SeqforgeError as e:
        raise BadRequest(422, _unlocated(str(e))) from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        # a value the readers did not expect (a list inside a cell, a huge integer …)
        raise BadRequest(422, f"the inputs cannot be read ({type(e).__name__}: "
                              f"{str(e)[:200]})") from None


def _unlocated(msg: str) -> str:
    """A reader's message names its temporary file; the client sent a table, not a path."""
    tmp = tempfile.gettempdir()
    return " ".join("your table:" if w.startswith(f"{tmp}/seqforge-serve-") else w
                    for w in msg.split(" "))
