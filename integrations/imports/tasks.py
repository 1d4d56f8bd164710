"""Celery task of the file import: takes an id, calls the service, retries."""

from celery import shared_task

from cdp_site.celery import LONG_TASK

from . import services

MAX_RETRIES = 5


@shared_task
def purge_import_files() -> int:
    return services.purge_import_files()


# Chunked and resumable: past the soft limit the retry resumes after the last chunk.
@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, **LONG_TASK)
def run_file_import(self, import_id: int) -> int:
    try:
        return services.run_import(import_id=import_id).rows_done
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            services.fail_import(import_id=import_id, reason="The import stopped on an error.")
            raise
        # Resumes after the last committed chunk.
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
