"""The same ping-pong as the engine's bench pathway, written the way a Django user would.

``go`` (a -> b) and ``back`` (b -> a) each carry one condition equivalent to
the engine's CEL guard ``proposal.value <= pathway.limits.max_value``, and
are wrapped with django-fsm-log's ``fsm_log_by`` / ``fsm_log_description`` so
every transition writes a ``StateLog`` row with the acting user and a
description (the closest the peer gets to an audit entry; it is not hashed
or chained). The tables are made with ``migrate --run-syncdb``.
"""

from decimal import Decimal

from django.db import models
from django_fsm import FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

MAX_VALUE = Decimal(25000)


def within_limit(instance: "Proposal") -> bool:
    """The guard: the proposal's value is within the pathway's cap."""
    return instance.value <= MAX_VALUE


class Proposal(models.Model):
    vendor = models.CharField(max_length=200)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    state = FSMField(default="a")

    class Meta:
        app_label = "fsmapp"

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source="a", target="b", conditions=[within_limit])
    def go(self, by=None, description=None) -> None:
        """a -> b."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source="b", target="a", conditions=[within_limit])
    def back(self, by=None, description=None) -> None:
        """b -> a."""
