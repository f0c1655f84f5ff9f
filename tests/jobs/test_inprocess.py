"""`machikoba serve` runs one solve worker in its own process unless MACHIKOBA_INPROCESS_WORKER=0."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import pytest

from server import db
from server.app import create_app
from server.jobs import service
from server.jobs.plugins import SolveRequest
from server.settings import Settings, SettingsError
from tests.conftest import Caller, TestDatabase
from tests.jobs.conftest import job_row, small_problem, until_status


def test_the_setting_reads_yes_and_no() -> None:
    assert Settings.from_env({}).inprocess_worker is True
    assert Settings.from_env({"MACHIKOBA_INPROCESS_WORKER": "0"}).inprocess_worker is False
    assert Settings.from_env({"MACHIKOBA_INPROCESS_WORKER": "true"}).inprocess_worker is True
    with pytest.raises(SettingsError, match="MACHIKOBA_INPROCESS_WORKER"):
        Settings.from_env({"MACHIKOBA_INPROCESS_WORKER": "maybe"})
    settings = Settings.from_env({"MACHIKOBA_WORKER_JOBS": "2", "MACHIKOBA_JOB_HEARTBEAT_S": "5"})
    assert (settings.worker_jobs, settings.job_heartbeat_s, settings.solver_threads) == (2, 5, 2)


@pytest.mark.parametrize("inprocess", [True, False])
async def test_the_server_lifespan_runs_a_worker_unless_told_not_to(
    pool: db.Pool, database: TestDatabase, coordinator: Caller, rfq_id: str, tmp_path: Path, inprocess: bool
) -> None:
    settings = Settings(
        database_url=database.dsn, data_dir=tmp_path, inprocess_worker=inprocess, solver_threads=1
    )
    request = SolveRequest(problem=small_problem())
    job = await service.request_solve(pool, coordinator.principal, rfq_id=UUID(rfq_id), request=request)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if inprocess:
            done = await until_status(pool, job.id, "succeeded", "failed", timeout_s=120)
            assert done.status == "succeeded", done.error
        else:
            await asyncio.sleep(3)
            assert (await job_row(pool, job.id)).status == "queued"
