"""The hand-off policy (policy.yaml): thresholds, route intents, tiers and skill groups."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

POLICY_FILE = Path(__file__).with_name("policy.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Understanding(_Strict):
    act: float = Field(ge=0, le=1)
    suggest: float = Field(ge=0, le=1)
    switch: float = Field(ge=0, le=1)


class RouteIntent(_Strict):
    reason: str
    urgent: bool = False


class TierPolicy(_Strict):
    max_failures: int = Field(ge=1)


class Handoff(_Strict):
    max_failures: int = Field(ge=1)
    negative_sentiment: int = Field(le=0)
    flow_timeout_minutes: int = Field(ge=1)
    route_intents: dict[str, RouteIntent]
    tiers: dict[str, TierPolicy] = Field(default_factory=dict)


class SkillGroups(_Strict):
    default: str
    vip_group: str
    english: str
    by_intent: dict[str, str] = Field(default_factory=dict)


class Policy(_Strict):
    understanding: Understanding
    handoff: Handoff
    skill_groups: SkillGroups

    def max_failures(self, tier: str | None) -> int:
        special = self.handoff.tiers.get(tier or "")
        return special.max_failures if special else self.handoff.max_failures

    def skill_group(
        self, *, intent: str | None, tier: str | None, language: str, urgent: bool = False
    ) -> str:
        """Urgent matters go to their specialists even for VIPs; other VIP chats to the VIP desk."""
        if urgent and intent in self.skill_groups.by_intent:
            return self.skill_groups.by_intent[intent]
        if tier in self.handoff.tiers:
            return self.skill_groups.vip_group
        if intent in self.skill_groups.by_intent:
            return self.skill_groups.by_intent[intent]
        return self.skill_groups.english if language.startswith("en") else self.skill_groups.default


@lru_cache(maxsize=1)
def get_policy() -> Policy:
    try:
        return Policy.model_validate(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ValueError(f"{POLICY_FILE.name}: {exc}") from None
