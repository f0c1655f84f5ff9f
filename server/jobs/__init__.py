"""Solve jobs: a coordinator's request for proposals, solved by workers through a PostgreSQL queue.

How a solve flows::

    proposalsRequest ─▶ service.request_solve: solve_jobs row + pgqueuer row, one transaction
    worker (machikoba worker, or in-process in machikoba serve) takes the queue row ─▶ worker.Worker
        build_problem(conn, rfq_id, request) ─▶ solver.Problem            (plug point 1)
        solving.run_solver: CP-SAT in a child process; each improving solution ─▶ solve_jobs + NOTIFY
        store_results(conn, job_id, solutions), job succeeded, one transaction   (plug point 2)
    job(id) reads solve_jobs; solveProgress(jobId) streams it: events.watch_job (LISTEN, fan-out)

The plug points (:mod:`server.jobs.plugins`), replaced with :func:`server.jobs.plugins.install`:

- ``build_problem(conn: Connection, rfq_id: UUID, request: SolveRequest) -> solver.Problem`` — the Problem
  for the RFQ with the request's presets-independent settings applied (``apply_request`` does the policy
  overrides and ``firmOnly``). Raise ``JobInputError`` when there is nothing to solve; the job fails with
  that message. The default solves the Problem JSON given in the request's ``problem``.
- ``store_results(conn: Connection, job_id: UUID, solutions: Sequence[JobSolution]) -> None`` — called in
  the transaction that marks the job succeeded; must be keyed on ``job_id`` (a unique constraint) and
  idempotent, since a job whose worker died is run again. The default stores the solutions in
  ``solve_job_solutions``.

Modules: ``repo`` (SQL, notifications), ``rules`` (who), ``service`` (request, read, cancel), ``queue``
(pgqueuer calls), ``worker`` (the job handler), ``solving`` (the solver child process), ``events``
(LISTEN fan-out for subscriptions), ``plugins`` (the plug points).
"""
