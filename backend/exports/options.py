"""What an export contains: one validated, immutable set of options.

The API, the web page and the CLI all build an ``ExportOptions`` through
``export_options_build``, so the rules (and the error codes) are the same everywhere.
``as_filters`` is the JSON stored on the job and written to the audit log; it never
contains the anonymisation secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.common.errors import ValidationFailed
from backend.exports.formats.build import ALL_EVAL_SETS, PiiPolicy
from backend.exports.formats.registry import record_formats
from backend.exports.models import ExportFormat
from backend.exports.quality import eval_set_names
from backend.projects.models import Project
from backend.trees.models import TreeState

ALL_STATES = "all"
DEFAULT_LICENSE = "apache-2.0"  # hf-dataset's dataset card
DEFAULT_STATES = (TreeState.READY_FOR_EXPORT.value,)
BOOLEAN_FILTERS = {
    "include_deleted": False,
    "include_rejected": False,
    "include_synthetic": False,
    "with_labels": True,
    "with_events": False,
    "with_consensus": True,
    "with_quality": True,
    "exclude_near_duplicates": False,
    "exclude_lang_mismatch": False,
    "anonymize": True,
    "gzip": False,
}


@dataclass(frozen=True)
class ExportOptions:
    project_id: int
    project_slug: str
    format: str
    states: tuple[str, ...] | None  # None: every state
    languages: tuple[str, ...]  # empty: every language
    created_from: datetime | None = None
    created_to: datetime | None = None
    include_deleted: bool = False
    include_rejected: bool = False
    include_synthetic: bool = False
    with_labels: bool = True
    with_events: bool = False
    with_consensus: bool = True
    with_quality: bool = True
    anonymize: bool = True
    pii: str = PiiPolicy.MASK
    gzip: bool = False
    # hf-dataset only (see ``_hf_options``).
    validation_fraction: float = 0.0
    license: str = DEFAULT_LICENSE
    # Quality filters (see ``formats.build.quality_excludes``).
    exclude_near_duplicates: bool = False
    exclude_leaked: str | None = None  # an eval set's name, "all", or None
    exclude_lang_mismatch: bool = False
    max_toxicity: float | None = None

    @property
    def quality_filters(self) -> bool:
        return (
            self.exclude_near_duplicates
            or self.exclude_leaked is not None
            or self.exclude_lang_mismatch
            or self.max_toxicity is not None
        )

    @property
    def extension(self) -> str:
        if self.format == ExportFormat.HF_DATASET:
            return ".zip"
        base = ".parquet" if self.format == ExportFormat.PARQUET else ".jsonl"
        return base + (".gz" if self.gzip else "")

    def hf_filters(self) -> dict[str, Any]:
        if self.format != ExportFormat.HF_DATASET:
            return {}
        return {"validation_fraction": self.validation_fraction, "license": self.license}

    def as_filters(self) -> dict[str, Any]:
        return {
            **self.hf_filters(),
            "states": list(self.states) if self.states is not None else ALL_STATES,
            "languages": list(self.languages),
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            "include_deleted": self.include_deleted,
            "include_rejected": self.include_rejected,
            "include_synthetic": self.include_synthetic,
            "with_labels": self.with_labels,
            "with_events": self.with_events,
            "with_consensus": self.with_consensus,
            "with_quality": self.with_quality,
            "anonymize": self.anonymize,
            "pii": self.pii,
            "gzip": self.gzip,
            "exclude_near_duplicates": self.exclude_near_duplicates,
            "exclude_leaked": self.exclude_leaked,
            "exclude_lang_mismatch": self.exclude_lang_mismatch,
            "max_toxicity": self.max_toxicity,
        }


def _states(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return DEFAULT_STATES
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable) or not all(isinstance(item, str) for item in values):
        raise ValidationFailed("states", "invalid_state", "States are a list of tree states.")
    values = list(values)
    if ALL_STATES in values:
        return None
    if not values:
        return DEFAULT_STATES
    unknown = sorted(set(values) - set(TreeState.values))
    if unknown:
        raise ValidationFailed(
            "states",
            "invalid_state",
            f"Unknown tree state {unknown[0]!r}; "
            f"use one of {', '.join(TreeState.values)} or 'all'.",
        )
    return tuple(sorted(set(values)))


def _languages(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable) or not all(
        isinstance(item, str) and 0 < len(item) <= 32 for item in values
    ):
        raise ValidationFailed("languages", "invalid_language", "Languages are language codes.")
    return tuple(sorted(set(values)))


def _moment(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as error:
            raise ValidationFailed(
                field, "invalid_date", f"{field} is not an ISO 8601 date."
            ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _boolean(filters: Mapping[str, Any], name: str) -> bool:
    value = filters.get(name, BOOLEAN_FILTERS[name])
    if value is None:
        return BOOLEAN_FILTERS[name]
    if not isinstance(value, bool):
        raise ValidationFailed(name, "invalid_value", f"{name} is true or false.")
    return value


def _max_toxicity(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationFailed(
            "max_toxicity", "invalid_value", "max_toxicity is a number from 0 to 1."
        )
    try:
        number = float(value)
    except ValueError as error:
        raise ValidationFailed(
            "max_toxicity", "invalid_value", "max_toxicity is a number from 0 to 1."
        ) from error
    if not 0.0 <= number <= 1.0:
        raise ValidationFailed(
            "max_toxicity", "out_of_range", "max_toxicity is a number from 0 to 1."
        )
    return number


def _exclude_leaked(value: Any, project: Project) -> str | None:
    if value in (None, "", False):
        return None
    if value is True:
        return ALL_EVAL_SETS
    if not isinstance(value, str) or len(value) > 200:
        raise ValidationFailed(
            "exclude_leaked",
            "invalid_value",
            "exclude_leaked is 'all' or the name of one of the project's eval sets.",
        )
    if value != ALL_EVAL_SETS and value not in eval_set_names(project_id=project.pk):
        raise ValidationFailed(
            "exclude_leaked",
            "unknown_eval_set",
            f"The project has no eval set {value!r}.",
        )
    return value


def export_format_names() -> list[str]:
    """The tree formats and the record formats other apps registered."""
    return [*ExportFormat.values, *(spec.name for spec in record_formats())]


def export_options_build(
    *, project: Project, format: str, filters: Mapping[str, Any]
) -> ExportOptions:
    """Validate ``filters`` (the keys of ``ExportOptions.as_filters``) for ``project``."""
    if format not in export_format_names():
        raise ValidationFailed(
            "format", "invalid_format", f"Format is one of {', '.join(export_format_names())}."
        )
    validation_fraction, license = _hf_options(format, filters)
    filters = {name: value for name, value in filters.items() if name not in HF_FILTERS}
    unknown = sorted(
        set(filters)
        - {
            *BOOLEAN_FILTERS,
            "states",
            "languages",
            "created_from",
            "created_to",
            "pii",
            "exclude_leaked",
            "max_toxicity",
        }
    )
    if unknown:
        raise ValidationFailed(unknown[0], "unknown_filter", f"Unknown filter {unknown[0]!r}.")
    pii = filters.get("pii") or PiiPolicy.MASK
    if pii not in PiiPolicy.CHOICES:
        raise ValidationFailed(
            "pii", "invalid_choice", f"pii is one of {', '.join(PiiPolicy.CHOICES)}."
        )
    created_from = _moment(filters.get("created_from"), "created_from")
    created_to = _moment(filters.get("created_to"), "created_to")
    if created_from and created_to and created_from >= created_to:
        raise ValidationFailed(
            "created_to", "invalid_date_range", "created_to must be after created_from."
        )
    options = ExportOptions(
        project_id=project.pk,
        project_slug=project.slug,
        format=format,
        states=_states(filters.get("states")),
        languages=_languages(filters.get("languages")),
        created_from=created_from,
        created_to=created_to,
        pii=pii,
        validation_fraction=validation_fraction,
        license=license,
        exclude_leaked=_exclude_leaked(filters.get("exclude_leaked"), project),
        max_toxicity=_max_toxicity(filters.get("max_toxicity")),
        **{name: _boolean(filters, name) for name in BOOLEAN_FILTERS},
    )
    if options.gzip and options.format == ExportFormat.PARQUET:
        raise ValidationFailed(
            "gzip",
            "gzip_not_for_parquet",
            "Parquet files are compressed inside; gzip is for JSONL.",
        )
    return options


HF_FILTERS = ("validation_fraction", "license")
LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}")


def _hf_options(format: str, filters: Mapping[str, Any]) -> tuple[float, str]:
    """``validation_fraction`` (0 ≤ f < 1, default 0) and ``license`` (a Hub license id,
    default apache-2.0), for ``hf-dataset`` only."""
    given = {name: filters[name] for name in HF_FILTERS if filters.get(name) is not None}
    if format != ExportFormat.HF_DATASET:
        if given:
            name = sorted(given)[0]
            raise ValidationFailed(name, "not_for_format", f"{name} is for hf-dataset exports.")
        return 0.0, DEFAULT_LICENSE
    if filters.get("gzip"):
        raise ValidationFailed(
            "gzip", "gzip_not_for_zip", "An hf-dataset export is a zip; gzip is for JSONL."
        )
    fraction = given.get("validation_fraction", 0.0)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise ValidationFailed(
            "validation_fraction", "invalid_value", "validation_fraction is a number."
        )
    if not 0 <= fraction < 1:
        raise ValidationFailed(
            "validation_fraction",
            "out_of_range",
            "validation_fraction is at least 0 and less than 1.",
        )
    license = given.get("license", DEFAULT_LICENSE)
    if not isinstance(license, str) or not LICENSE_ID.fullmatch(license):
        raise ValidationFailed(
            "license", "invalid_license", "license is a Hugging Face license id (e.g. cc-by-4.0)."
        )
    return float(fraction), license
