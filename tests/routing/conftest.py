from tests.routing_fixtures import make_agent, make_group, queue_chat

__all__ = ["make_agent", "make_group", "queue_chat"]
