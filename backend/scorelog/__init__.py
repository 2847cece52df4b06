"""The SQLite score log shared by the server, the arena and the screen bot.

Usage::

    from backend.scorelog import ScoreLog, default_db_path, summarize
    log = ScoreLog(default_db_path())
"""

from backend.scorelog.db import (
    DB_ENV,
    ResultConflictError,
    RoundRecord,
    ScoreLog,
    UnknownRoundError,
    default_db_path,
)
from backend.scorelog.schema import SCHEMA_VERSION, SchemaError
from backend.scorelog.summary import summarize

__all__ = [
                                 "DB_ENV",
                                 "SCHEMA_VERSION",
                                 "ResultConflictError",
                                 "RoundRecord",
                                 "SchemaError",
                                 "ScoreLog",
                                 "UnknownRoundError",
                                 "default_db_path",
                                 "summarize",
]
