"""Scheduled tasks: a prompt the agent runs on a schedule (Hermes' cron jobs), each firing an ordinary,
durable run in the task's session, its result delivered once as a notice.

    timing.py     schedules (cron, every 30m, one-shot times) in a time zone; the next firing
    jobs.py       ``cron_jobs`` rows and their Hermes JSON shape
    firings.py    claiming a firing once across instances and starting its run; missed firings
    endings.py    a firing's run ended: its status, answer and notice, once (a RunListener)
    scheduler.py  the per-instance task that sleeps until the next firing is due
    service.py    TaskService: what ``/api/crons`` does
    imports.py    Hermes' ``cron/jobs.json``
"""
