"""django-celery-beat rows that are not Python: Django fixtures (`manage.py loaddata`)
in JSON or YAML holding `django_celery_beat.periodictask` / `crontabschedule` /
`intervalschedule` objects, and what a row's fields mean as a schedule (shared with
the rows that code writes, see schedules.py).

The engine finds the fixture files (`fixtures/*.json|yaml|yml` anywhere in the project)
and reads those that mention django_celery_beat; this module parses text only. JSON is
parsed with the standard library, each object located at its line; YAML needs PyYAML
(a dependency of pre-commit), without which a YAML fixture is listed by --verbose as not
read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

BEAT_APP = "django_celery_beat"
INTERVAL_PERIODS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0, "microseconds": 1e-6}
CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


@dataclass
class FixtureRow:
    """One django-celery-beat object of a fixture file."""

    rel: str  # the fixture file, root-relative
    model: str  # "periodictask", "crontabschedule", "intervalschedule", ...
    pk: Any
    fields: dict
    line: int  # where the object starts
    field_lines: dict = field(default_factory=dict)  # field -> (line, column, end_line, end_column) of its value


def is_fixture(rel: str) -> bool:
    """A root-relative path of a Django fixture file that may hold beat rows."""
    parts = rel.split("/")
    return len(parts) >= 2 and parts[-2] == "fixtures" and parts[-1].endswith((".json", ".yaml", ".yml"))


def parse_fixture(rel: str, text: str) -> tuple[list[FixtureRow], str | None]:
    """(rows, problem): the django-celery-beat objects of a fixture, or why it could not
    be read."""
    if rel.endswith(".json"):
        return _parse_json(rel, text)
    return _parse_yaml(rel, text)


def _parse_json(rel: str, text: str) -> tuple[list[FixtureRow], str | None]:
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "[":
        return [], "not a JSON list of objects"
    pos += 1
    rows = []
    while True:
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == "]":
            return rows, None
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
            return rows, f"invalid JSON: {exc}"
        row = _row(rel, obj, _line_col(text, pos)[0])
        if row is not None:
            row.field_lines = _json_field_positions(text, pos, end, row.fields)
            rows.append(row)
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return rows, None
        else:
            return rows, "invalid JSON list"


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _json_field_positions(text: str, start: int, end: int, fields: dict) -> dict:
    """field -> span of its value in the object's text (the first `"field":` key)."""
    decoder = json.JSONDecoder()
    found = {}
    for name in fields:
        key = json.dumps(name)
        at = text.find(key, start, end)
        while at >= 0:
            colon = _skip(text, at + len(key))
            if colon < end and text[colon] == ":":
                value_at = _skip(text, colon + 1)
                try:
                    _, value_end = decoder.raw_decode(text, value_at)
                except ValueError:
                    break
                found[name] = _line_col(text, value_at) + _line_col(text, value_end)
                break
            at = text.find(key, at + 1, end)
    return found


def _parse_yaml(rel: str, text: str) -> tuple[list[FixtureRow], str | None]:
    try:
        import yaml
    except ImportError:
        return [], "YAML fixtures need PyYAML"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return [], f"invalid YAML: {' '.join(str(exc).split())}"
    if node is None:
        return [], None
    if not isinstance(node, yaml.SequenceNode):
        return [], "not a YAML list of objects"
    loader = yaml.SafeLoader("")
    rows = []
    for item in node.value:
        try:
            obj = loader.construct_document(item)
        except yaml.YAMLError:
            continue
        row = _row(rel, obj, item.start_mark.line + 1)
        if row is None:
            continue
        for key_node, value_node in item.value if isinstance(item, yaml.MappingNode) else ():
            if getattr(key_node, "value", None) == "fields" and isinstance(value_node, yaml.MappingNode):
                for fkey, fvalue in value_node.value:
                    row.field_lines[fkey.value] = (fvalue.start_mark.line + 1, fvalue.start_mark.column + 1,
                                                   fvalue.end_mark.line + 1, fvalue.end_mark.column + 1)
        rows.append(row)
    return rows, None


def _row(rel: str, obj: Any, line: int) -> FixtureRow | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), str):
        return None
    app, _, model = obj["model"].lower().partition(".")
    if app != BEAT_APP or not isinstance(obj.get("fields", {}), dict):
        return None
    return FixtureRow(rel, model, obj.get("pk"), dict(obj.get("fields") or {}), line)


# --------------------------------------------------------------------------- meaning


def crontab_fields(values: dict) -> dict:
    """A CrontabSchedule row's fields as `crontab(...)` keyword arguments (the model's
    defaults are "*", as crontab's)."""
    return {name: values[name] for name in CRONTAB_FIELDS if name in values}


def interval_seconds(every: Any, period: Any) -> float | None:
    """An IntervalSchedule row's interval: `every` periods (period "days", "hours",
    "minutes", "seconds" or "microseconds")."""
    if isinstance(every, bool) or not isinstance(every, (int, float)) or not isinstance(period, str):
        return None
    unit = INTERVAL_PERIODS.get(period.lower())
    return float(every) * unit if unit is not None and every > 0 else None


def json_value(value: Any, default: Any) -> Any:
    """A PeriodicTask `args` / `kwargs` field: JSON text (or None for the default)."""
    if value is None:
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None
