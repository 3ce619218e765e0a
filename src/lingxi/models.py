"""Imports every table so that `Base.metadata` is complete (Alembic, tests, `lingxi migrate`)."""

from lingxi.agents import models as agents_models
from lingxi.audit import models as audit_models
from lingxi.auth import models as auth_models
from lingxi.channels import models as channels_models
from lingxi.conversations import models as conversations_models
from lingxi.core import events as core_events
from lingxi.core import outbound as core_outbound
from lingxi.core.db import Base
from lingxi.customers import models as customers_models
from lingxi.demo import models as demo_models
from lingxi.identity import models as identity_models
from lingxi.knowledge import models as knowledge_models
from lingxi.notifications import models as notifications_models
from lingxi.routing import models as routing_models
from lingxi.tickets import models as tickets_models

__all__ = [
    "Base",
    "agents_models",
    "audit_models",
    "auth_models",
    "channels_models",
    "conversations_models",
    "core_events",
    "core_outbound",
    "customers_models",
    "demo_models",
    "identity_models",
    "knowledge_models",
    "notifications_models",
    "routing_models",
    "tickets_models",
]
