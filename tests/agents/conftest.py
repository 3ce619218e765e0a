from tests.knowledge.helpers import editors
from tests.routing_fixtures import make_agent, make_group, queue_chat

__all__ = ["editors", "make_agent", "make_group", "queue_chat"]
