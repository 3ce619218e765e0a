"""Who is doing something: a staff user, a customer, an anonymous visitor or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorType = Literal["staff", "customer", "visitor", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str
    name: str = ""
    role: str | None = None
    ip: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(type="system", id=name, name=name)
