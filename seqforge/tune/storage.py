"""Where a study lives.

Default: a journal file in the study directory (``study.journal``, Optuna's
``JournalFileBackend``): nothing else needs to run, and several processes on one machine
— or on machines sharing the folder — may work on it at once (appends under a file
lock). ``storage: URL`` names an RDB instead (``sqlite:///study.db``,
``postgresql://user@host/db``, ``mysql://…``) for many machines; a plain path names
another journal file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .job import TuneError

SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def open_storage(where: str | None, study_dir: Path):
    """An Optuna storage; a TuneError naming ``where`` when it cannot be opened."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if where is None or "://" not in where:
        path = Path(where) if where is not None else study_dir / "study.journal"
        if path.is_dir():
            raise TuneError(f"storage {str(path)!r} is a directory: name a journal file "
                            "(e.g. study.journal) or an RDB URL (sqlite:///study.db)")
        if where is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise TuneError(f"storage {where!r} cannot be opened: folder {str(path.parent)!r} "
                            "does not exist")
        try:
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as e:
            raise TuneError(f"storage {str(path)!r} cannot be opened: {e.strerror or e}") from None
    scheme = where.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in SCHEMES:
        raise TuneError(f"storage {where!r}: unknown scheme {scheme!r} — give a journal file "
                        f"path or an RDB URL ({', '.join(s + '://' for s in SCHEMES[:4])} …)")
    try:
        # a heartbeat lets a worker see that another one died mid-trial (its trial fails
        # and is retried) on storages shared between machines
        with warnings.catch_warnings():  # the heartbeat is "experimental" since Optuna 2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(where, heartbeat_interval=60, grace_period=180)
    except Exception as e:  # sqlalchemy's errors, a missing database driver …
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        hint = " (is its database driver installed?)" if "import" in first.lower() else ""
        raise TuneError(f"storage {where!r} cannot be opened: {first}{hint}") from None


def describe(where: str | None, study_dir: Path) -> str:
    return where if where is not None else str(study_dir / "study.journal")
