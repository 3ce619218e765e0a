"""Declarative business flows: the file format, and loading with validation.

A flow is a YAML file under `lingxi/bot/flows/` (or the directory in `LINGXI_BOT_FLOWS_DIR`) that a
business analyst edits. Loading validates everything a typo could break — unknown intents, slot kinds,
actions, template variables, missing Chinese text, levels — and fails with the file and the place:

    bill_installment.yaml: steps[3].confirm: template uses {quote.rate}, but `quote` provides
    fee_rate, total_fee, per_period, amount, periods

See docs/bot.md for the format.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from lingxi.identity.service import LEVEL_RANK

FLOWS_DIR = Path(__file__).with_name("flows")
LANGUAGES = ("zh-CN", "en")
SLOT_KINDS = (
    "card",  # any of the customer's cards (filter by kind/status)
    "account",
    "loan",
    "holding",  # wealth holdings
    "choice",
    "yes_no",
    "amount",
    "date",
    "phone",
    "text",
)
LIST_KINDS = ("card", "account", "loan", "holding")


class FlowError(ValueError):
    """A flow file cannot be used; the message names the file and the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """Something the bot says, in Chinese (required) and English."""

    zh: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def get(self, language: str) -> str:
        return self.en if language.startswith("en") else self.zh

    def fields(self) -> set[str]:
        """The root names the templates use: {card.tail} → card."""
        names: set[str] = set()
        for template in (self.zh, self.en):
            for _, field, _, _ in string.Formatter().parse(template):
                if field:
                    names.add(field)
        return names


class Option(_Strict):
    value: str
    label: Text
    synonyms: list[str] = Field(default_factory=list)


class Slot(_Strict):
    kind: Literal["card", "account", "loan", "holding", "choice", "yes_no", "amount", "date", "phone", "text"]
    prompt: Text
    # list kinds: which of the customer's items qualify, e.g. {kind: credit, status: [active]}
    filter: dict[str, str | list[str]] = Field(default_factory=dict)
    none: Text | None = None  # list kinds: said (and the flow ends) when nothing qualifies
    options: list[Option] = Field(default_factory=list)  # choice
    min: float | None = None  # amount
    max: float | None = None
    min_length: int = 2  # text
    optional: bool = False  # text/amount/date: the customer may answer 跳过 / skip
    attempts: int = Field(3, ge=1, le=5)  # wrong answers before the bot hands over

    @model_validator(mode="after")
    def _options_for_choice(self) -> Slot:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("a choice needs at least two options")
        if self.kind != "choice" and self.options:
            raise ValueError("options are only for kind: choice")
        if self.kind in LIST_KINDS and self.none is None:
            raise ValueError(f"kind {self.kind} needs `none:` (what to say when the customer has none)")
        return self


class Condition(_Strict):
    """`when: {slot: replace, equals: "yes"}`; `slot` may name an action's field: `transfer.found`."""

    slot: str
    equals: str | list[str] | None = None
    not_equals: str | list[str] | None = None

    def holds(self, values: Mapping[str, Any]) -> bool:
        root, _, sub = self.slot.partition(".")
        value = values.get(root)
        if isinstance(value, dict):
            value = value.get(sub or "value")
        raw = None if value is None else str(value)
        if self.equals is not None and raw not in _as_list(self.equals):
            return False
        return not (self.not_equals is not None and raw in _as_list(self.not_equals))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


class AskStep(_Strict):
    ask: str  # slot name (declared under `slots`)
    when: Condition | None = None


class CallStep(_Strict):
    call: str  # registered action
    save_as: str | None = None
    when: Condition | None = None
    # A call that the customer would regret doing twice (blocking a card …) runs only after confirm.
    final: bool = False


class SayStep(_Strict):
    say: Text
    when: Condition | None = None


class ConfirmStep(_Strict):
    confirm: Text
    level: str | None = None  # step-up before the confirmation when the flow's level is lower
    when: Condition | None = None

    @field_validator("level")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        if value is not None and value not in LEVEL_RANK:
            raise ValueError(f"level must be one of {', '.join(LEVEL_RANK)}")
        return value


class HandoffStep(_Strict):
    handoff: str  # reason recorded with the hand-off
    say: Text | None = None
    when: Condition | None = None


STEP_KINDS = ("handoff", "ask", "call", "confirm", "say")  # handoff first: it may carry a `say`


def _step_kind(value: Any) -> str | None:
    """A step is known by its key: `ask:`, `call:`, `say:`, `confirm:` or `handoff:`."""
    if isinstance(value, dict):
        return next((kind for kind in STEP_KINDS if kind in value), None)
    return next((kind for kind in STEP_KINDS if hasattr(value, kind)), None)


Step = Annotated[
    Annotated[AskStep, Tag("ask")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[SayStep, Tag("say")]
    | Annotated[ConfirmStep, Tag("confirm")]
    | Annotated[HandoffStep, Tag("handoff")],
    Discriminator(
        _step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step starts with one of: ask, call, say, confirm, handoff",
    ),
]


class Flow(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    intent: str
    level: str
    title: Text
    slots: dict[str, Slot] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    done: Text | None = None  # said when the last step has run (after what the actions said)
    data: dict[str, Any] = Field(default_factory=dict)  # parameters for the actions (explanations …)

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in LEVEL_RANK:
            raise ValueError(f"level must be one of {', '.join(LEVEL_RANK)}")
        return value

    def step_kind(self, index: int) -> str:
        return type(self.steps[index]).__name__.removesuffix("Step").lower()

    def slot_step(self, slot: str) -> int:
        for i, step in enumerate(self.steps):
            if isinstance(step, AskStep) and step.ask == slot:
                return i
        raise KeyError(slot)


# --- loading and cross-checks ----------------------------------------------------------------------


def _check_flow(
    flow: Flow,
    *,
    intents: Iterable[str] | Mapping[str, Mapping[str, Any]],
    actions: Mapping[str, Iterable[str]],
) -> list[str]:
    """Cross-field checks; returns the problems as 'place: message'."""
    problems: list[str] = []
    taxonomy = intents if isinstance(intents, Mapping) else {i: {} for i in intents}
    if flow.intent not in taxonomy:
        problems.append(f"intent: unknown intent {flow.intent!r} (see shared/intents.yaml)")
    else:
        floor = taxonomy[flow.intent].get("level", "L0")
        if LEVEL_RANK[flow.level] < LEVEL_RANK.get(floor, 0):
            problems.append(f"level: {flow.level} is below the taxonomy's {floor} for {flow.intent}")
    known: dict[str, set[str] | None] = {"customer_name": None}  # name → sub-fields (None: any)
    asked: set[str] = set()
    for i, step in enumerate(flow.steps):
        place = f"steps[{i}]"
        if step.when is not None and step.when.slot.split(".")[0] not in known:
            problems.append(f"{place}.when: {step.when.slot!r} is not asked or saved before this step")
        if isinstance(step, AskStep):
            if step.ask not in flow.slots:
                problems.append(f"{place}.ask: slot {step.ask!r} is not declared under slots")
            else:
                asked.add(step.ask)
                known[step.ask] = None
            continue
        if isinstance(step, CallStep):
            if step.call not in actions:
                problems.append(
                    f"{place}.call: unknown action {step.call!r}; known: {', '.join(sorted(actions))}"
                )
            elif step.save_as:
                known[step.save_as] = set(actions[step.call])
            continue
        texts = (
            [step.say]
            if isinstance(step, SayStep)
            else [step.confirm]
            if isinstance(step, ConfirmStep)
            else []
        )
        if isinstance(step, HandoffStep) and step.say is not None:
            texts.append(step.say)
        for text in texts:
            problems.extend(_check_fields(text, known, f"{place}.{flow.step_kind(i)}"))
    if flow.done is not None:
        problems.extend(_check_fields(flow.done, known, "done"))
    for name, slot in flow.slots.items():
        problems.extend(
            _check_fields(slot.prompt, {**known, **{n: None for n in flow.slots}}, f"slots.{name}.prompt")
        )
        if name not in asked:
            problems.append(f"slots.{name}: declared but never asked")
    return problems


def _check_fields(text: Text, known: Mapping[str, set[str] | None], place: str) -> list[str]:
    problems = []
    for field in sorted(text.fields()):
        root, _, sub = field.partition(".")
        if root not in known:
            problems.append(f"{place}: template uses {{{field}}}, but nothing before it provides {root!r}")
        elif sub and known[root] is not None and sub.split(".")[0] not in (known[root] or set()):
            provided = ", ".join(sorted(known[root] or set()))
            problems.append(f"{place}: template uses {{{field}}}, but {root!r} provides {provided}")
    return problems


def parse_flow(
    source: str,
    name: str,
    *,
    intents: Iterable[str] | Mapping[str, Mapping[str, Any]],
    actions: Mapping[str, Iterable[str]],
) -> Flow:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise FlowError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FlowError(f"{name}: a flow file is a mapping with id, intent, level, title, steps")
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()]
        raise FlowError(f"{name}: " + "; ".join(lines)) from None
    problems = _check_flow(flow, intents=intents, actions=actions)
    if problems:
        raise FlowError(f"{name}: " + "; ".join(problems))
    return flow


def load_flows(
    directory: Path, *, intents: Mapping[str, Mapping[str, Any]], actions: Mapping[str, Iterable[str]]
) -> dict[str, Flow]:
    """Every flow in the directory by intent; one error listing every broken file."""
    flows: dict[str, Flow] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            flow = parse_flow(path.read_text(encoding="utf-8"), path.name, intents=intents, actions=actions)
        except FlowError as exc:
            errors.append(str(exc))
            continue
        if flow.intent in flows:
            errors.append(
                f"{path.name}: intent {flow.intent!r} already has the flow {flows[flow.intent].id!r}"
            )
        flows[flow.intent] = flow
    if errors:
        raise FlowError("\n".join(errors))
    return flows
