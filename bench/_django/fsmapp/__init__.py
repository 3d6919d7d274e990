"""The peer's side of the benchmark: a django-fsm-2 model logged by django-fsm-log.

Kept out of ``bench_advance.py`` because Django needs its models in an
installed app module; the script puts ``bench/_django`` on ``sys.path`` and
configures settings itself (no project, no manage.py).
"""
