"""The committed run-record schema is the one the code writes."""

from __future__ import annotations

import json
from pathlib import Path

from graphs.record import RunRecord

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "run-record.schema.json"


def test_committed_schema_matches_model() -> None:
    assert json.loads(SCHEMA.read_text()) == RunRecord.model_json_schema(), (
        "regenerate with: ragvid schema run-record > docs/run-record.schema.json"
    )
