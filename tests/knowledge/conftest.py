from tests.knowledge.helpers import editors

__all__ = ["editors"]
