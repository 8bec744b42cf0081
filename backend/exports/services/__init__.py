"""Services that write: exports (``services.exports``) and imports (``services.imports``)."""

from backend.exports.services.exports import (
    ExportResult,
    export_job_create,
    export_job_run,
    export_jobs_requeue_stale,
    export_to_path,
    export_write,
)
from backend.exports.services.imports import (
    ImportLimitExceeded,
    ImportReport,
    import_file,
    import_files_sweep,
    import_job_create,
    import_job_run,
    import_jobs_requeue_stale,
    import_trees_run,
)

__all__ = [
    "ExportResult",
    "ImportLimitExceeded",
    "ImportReport",
    "export_job_create",
    "export_job_run",
    "export_jobs_requeue_stale",
    "export_to_path",
    "export_write",
    "import_file",
    "import_files_sweep",
    "import_job_create",
    "import_job_run",
    "import_jobs_requeue_stale",
    "import_trees_run",
]
