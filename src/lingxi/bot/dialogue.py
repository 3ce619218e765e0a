"""The dialogue manager: one customer message in, the bot's replies out.

State lives in `conversation.context["bot"]` (JSON, reassigned on every change):

    flow        intent of the running flow, or None
    step        index of the next step to run
    values      filled slots and actions' results by name (slots: {value, display, …})
    awaiting    what the last question was: {"type": "slot", "slot", "tries"} | {"type": "confirm", "tries"}
                | {"type": "otp", "challenge"} ; None when nothing is pending
    origin      the message that started the flow (slots are pre-filled from it)
    finals      whether an irreversible call has run (no corrections after it)
    failures    consecutive messages not understood outside a flow
    suggestions the intents offered in "您是想问…", so that "2" picks the second
    products    the knowledge base's products the customer named, latest last (for the hand-off)
    updated_at  ISO time of the last bot turn (a pending question lapses after flow_timeout_minutes)

Order of a turn: a pending one-time code → cancel → an explicit hand-off request or a strongly
negative message → the running flow (answer, correction, or a confident switch to another intent)
→ a pick from the last suggestions → the NLU: task intents start flows, route intents hand over,
FAQ intents and everything unsure go to the knowledge base.

Entities are extracted with the knowledge base's product catalogue (`knowledge_port.product_catalogue`):
a product the customer names fills list slots by its name, makes the knowledge search prefer the entries
about it, and goes to the agent with a hand-off.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot import knowledge_port
from lingxi.bot.actions import ACTIONS, ActionContext
from lingxi.bot.handoff import do_handoff
from lingxi.bot.policy import get_policy
from lingxi.bot.registry import get_flows, get_intent_model, intent_title, standard_intents
from lingxi.bot.replies import Reply
from lingxi.bot.sentiment import sentiment_score
from lingxi.bot.slots import (
    NO,
    YES,
    Parsed,
    choice_number,
    list_candidates,
    normalize_answer,
    options_text,
    parse_answer,
)
from lingxi.bot.spec import LIST_KINDS, AskStep, CallStep, ConfirmStep, Flow, HandoffStep, SayStep
from lingxi.bot.texts import t
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.errors import DomainError
from lingxi.core.masking import mask_phone
from lingxi.core.timeutil import utcnow
from lingxi.customers import service as customers
from lingxi.customers.adapters.core_banking import CoreBankingRefused
from lingxi.identity import service as identity
from lingxi.nlu import Prediction
from lingxi.nlu.entities import Entity, extract_entities
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.bot")

STATE_KEY = "bot"
CODE = re.compile(r"^\s*(\d\s*){6}$")
CANCEL = re.compile(
    r"^(取消|取消办理|算了|不办了|不用了|不要了|退出|结束|放弃|先不办了"
    r"|cancel|stop|quit|never ?mind|forget it)[!！。.～~]*$",
    re.IGNORECASE,
)
RESEND = re.compile(r"^(重新发送|重发|再发一次|重新获取|没收到|resend|send again)[!！。.]*$", re.IGNORECASE)
HUMAN = re.compile(
    r"^(转?人工(客服|服务)?|真人|找客服|客服|agent|human|talk to (a|an) (person|agent|human))[!！。.]*$", re.I
)
# An explicit request anywhere in a longer message ("账单有问题，转人工") also counts.
HUMAN_ANYWHERE = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|真人客服|接人工"
    r"|speak to (a|an) (person|agent|human)|human agent|real person",
    re.I,
)
CORRECTION = re.compile(
    r"不对|错了|不是|改成|改为|换成|应该是|我说的是|更正|actually|i meant|change it to|wrong", re.I
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
BOT = Actor.system("bot")
REMEMBERED_PRODUCTS = 3
SMALL_TALK = ("greeting", "thanks_goodbye")  # never a reason to leave a flow
RESOLVED = re.compile(r"^(已解决|解决了|已经解决了?|问题解决了|yes,? solved|solved)[!！。.]*$", re.I)


@dataclass(slots=True)
class Turn:
    """One customer message being answered."""

    session: AsyncSession
    conversation: Conversation
    text: str
    language: str
    state: dict[str, Any]
    products: Mapping[str, str] = field(default_factory=dict)  # the catalogue: name or alias → product
    replies: list[Reply] = field(default_factory=list)
    _entities: list[Entity] | None = None
    _prediction: Prediction | None = None

    def say(self, key: str, **values: object) -> Reply:
        reply = Reply(t(key, self.language, **values))
        self.replies.append(reply)
        return reply

    @property
    def en(self) -> bool:
        return self.language.startswith("en")

    @property
    def entities(self) -> list[Entity]:
        if self._entities is None:
            self._entities = extract_entities(self.text, products=self.products)
        return self._entities

    @property
    def named_products(self) -> list[str]:
        """The catalogue's products this message names, each once."""
        return list(dict.fromkeys(str(e.value) for e in self.entities if e.type == "product"))

    @property
    def prediction(self) -> Prediction:
        if self._prediction is None:
            self._prediction = get_intent_model().predict(self.text, k=3)
        return self._prediction


def _language_of(text: str, current: str) -> str:
    """Switch to English when a message is clearly English (a few words, no Chinese), else keep."""
    if _CJK.search(text):
        return "zh-CN"
    return "en" if len(_LATIN_WORD.findall(text)) >= 2 else current


def _load_state(conversation: Conversation) -> dict[str, Any]:
    state = conversation.context.get(STATE_KEY)
    return dict(state) if isinstance(state, dict) else {}


def _save_state(conversation: Conversation, state: dict[str, Any]) -> None:
    state["updated_at"] = utcnow().isoformat()
    conversation.context = {**conversation.context, STATE_KEY: state}


def _end_flow(state: dict[str, Any]) -> None:
    for key in ("flow", "step", "values", "awaiting", "origin", "finals"):
        state.pop(key, None)


def awaits_code(conversation: Conversation) -> bool:
    awaiting = _load_state(conversation).get("awaiting")
    return isinstance(awaiting, dict) and awaiting.get("type") == "otp"


# --- the turn ------------------------------------------------------------------------------------------


async def run_turn(*, session: AsyncSession, conversation: Conversation, text: str) -> list[Reply]:
    state = _load_state(conversation)
    language = _language_of(text, conversation.language)
    if language != conversation.language:
        conversation.language = language
    turn = Turn(
        session=session,
        conversation=conversation,
        text=text.strip(),
        language=language,
        state=state,
        products=await knowledge_port.product_catalogue(session=session),
    )
    _remember_products(turn)
    try:
        await _dispatch(turn)
    finally:
        _save_state(conversation, state)
    return turn.replies


async def run_handoff(*, session: AsyncSession, conversation: Conversation, reason: str) -> list[Reply]:
    """A hand-off asked for outside a message (a WeChat menu click, a button): same context as in chat."""
    state = _load_state(conversation)
    turn = Turn(
        session=session, conversation=conversation, text="", language=conversation.language, state=state
    )
    try:
        await _handoff(turn, reason, intent=state.get("flow"))
    finally:
        _save_state(conversation, state)
    return turn.replies


async def run_resume(*, session: AsyncSession, conversation: Conversation) -> list[Reply]:
    """Go on with a flow that waited for a step-up the customer has since passed (e.g. in the app)."""
    state = _load_state(conversation)
    flow = get_flows().get(state.get("flow") or "")
    awaiting = state.get("awaiting") or {}
    if flow is None or awaiting.get("type") != "otp" or conversation.customer_id is None:
        return []
    turn = Turn(
        session=session,
        conversation=conversation,
        text="",
        language=conversation.language,
        state=state,
        products=await knowledge_port.product_catalogue(session=session),
    )
    resume = int(awaiting.get("resume", 0))
    required = _level_at(flow, resume)
    if identity.LEVEL_RANK[await _effective_level(turn)] < identity.LEVEL_RANK[required]:
        return []
    try:
        turn.say("step_up_done")
        state["awaiting"] = None
        state["step"] = resume
        await _run_flow(turn, flow)
    finally:
        _save_state(conversation, state)
    return turn.replies


def _remember_products(turn: Turn) -> None:
    """Keep the products the customer named (the latest few) for a later hand-off."""
    named = turn.named_products
    if named:
        kept = [p for p in turn.state.get("products") or [] if p not in named]
        turn.state["products"] = [*kept, *named][-REMEMBERED_PRODUCTS:]


async def _dispatch(turn: Turn) -> None:
    state, policy = turn.state, get_policy()
    flow = get_flows().get(state.get("flow") or "")
    if flow is not None and _lapsed(state, policy.handoff.flow_timeout_minutes):
        turn.say("timed_out", title=flow.title.get(turn.language))
        await _set_outcome(turn, "abandoned")
        _end_flow(state)
        flow = None
    if flow is not None and (state.get("awaiting") or {}).get("type") == "otp":
        if await _on_code(turn, flow):
            return
    if CANCEL.match(normalize_answer(turn.text)):
        if flow is not None:
            turn.say("cancelled", title=flow.title.get(turn.language))
            _end_flow(state)
            await _set_outcome(turn, "abandoned")
            turn.replies[-1].with_quick_replies(_popular(turn.language))
            return
    if HUMAN.match(normalize_answer(turn.text)) or HUMAN_ANYWHERE.search(turn.text):
        await _handoff(turn, "customer_request", intent=state.get("flow"))
        return
    if sentiment_score(turn.text) <= policy.handoff.negative_sentiment:
        # An upset customer reporting fraud or complaining goes to that desk, not the general queue.
        route = policy.handoff.route_intents.get(turn.prediction.intent)
        if route is not None and not turn.prediction.out_of_scope:
            await _handoff(turn, route.reason, intent=turn.prediction.intent, urgent=route.urgent)
        else:
            await _handoff(turn, "negative_sentiment", intent=state.get("flow"))
        return
    if flow is not None:
        if await _continue_flow(turn, flow):
            return
        flow = None
    if await _pick_suggestion(turn):
        return
    if state.get("answered") and RESOLVED.match(normalize_answer(turn.text)):
        turn.say("goodbye")  # the "是否解决了您的问题" button
        await _set_outcome(turn, "resolved_by_bot")
        return
    await _understand(turn)


def _lapsed(state: dict[str, Any], minutes: int) -> bool:
    updated = state.get("updated_at")
    if not updated or not state.get("awaiting"):
        return False
    return utcnow() - datetime.fromisoformat(updated) > timedelta(minutes=minutes)


async def _understand(turn: Turn) -> None:
    """A message outside any flow: act on a confident intent, else offer choices, else say so."""
    state, rules = turn.state, get_policy()
    prediction = turn.prediction
    if not prediction.out_of_scope and prediction.confidence >= rules.understanding.act:
        state["failures"] = 0
        state.pop("suggestions", None)
        await _start_intent(turn, prediction.intent)
        return
    hits = await knowledge_port.search(
        session=turn.session,
        query=turn.text,
        language=turn.language,
        channel=turn.conversation.channel,
        products=turn.named_products,
    )
    if hits.decision == "answer" and hits.hits:
        state["failures"] = 0
        await _answer_faq(turn, hits.hits[0])
        return
    offers: list[dict[str, Any]] = []
    if prediction.confidence >= rules.understanding.suggest or prediction.out_of_scope is False:
        for intent, confidence in prediction.top_k:
            if confidence >= rules.understanding.suggest / 2 and intent in standard_intents():
                offers.append({"intent": intent, "label": intent_title(intent, turn.language)})
    for hit in hits.hits:
        if len(offers) >= 3:
            break
        if hit.intent and any(o.get("intent") == hit.intent for o in offers):
            continue
        offers.append({"faq": hit.entry_id, "intent": hit.intent, "label": hit.question})
    offers = offers[:3]
    if offers:
        state["suggestions"] = offers
        labels = [o["label"] for o in offers]
        reply = Reply(
            f"{t('did_you_mean', turn.language)}\n{options_text(labels)}\n{t('pick_number', turn.language)}"
        )
        reply.payload["suggestions"] = labels
        turn.replies.append(reply.with_quick_replies([(label, label) for label in labels]))
        return
    await _not_understood(turn)


async def _not_understood(turn: Turn) -> None:
    state = turn.state
    state["failures"] = int(state.get("failures", 0)) + 1
    tier = await _tier(turn)
    if state["failures"] >= get_policy().max_failures(tier):
        await _handoff(turn, "not_understood", intent=None)
        return
    turn.say("not_understood").with_quick_replies(_popular(turn.language))


async def _pick_suggestion(turn: Turn) -> bool:
    offers = turn.state.get("suggestions") or []
    if not offers:
        return False
    number = choice_number(turn.text)
    answer = normalize_answer(turn.text)
    chosen = None
    if number is not None and 1 <= number <= len(offers):
        chosen = offers[number - 1]
    else:
        chosen = next((o for o in offers if normalize_answer(o["label"]) == answer), None)
    if chosen is None:
        turn.state.pop("suggestions", None)
        return False
    turn.state.pop("suggestions", None)
    turn.state["failures"] = 0
    if chosen.get("faq") is not None:
        hit = await knowledge_port.get_entry(
            session=turn.session,
            entry_id=chosen["faq"],
            language=turn.language,
            channel=turn.conversation.channel,
        )
        if hit is not None:
            await _answer_faq(turn, hit)
            return True
    if chosen.get("intent"):
        await _start_intent(turn, chosen["intent"], origin=False)
        return True
    return False


async def _start_intent(turn: Turn, intent: str, *, origin: bool = True) -> None:
    info = standard_intents().get(intent, {})
    route = get_policy().handoff.route_intents.get(intent)
    if route is not None:
        await _handoff(turn, route.reason, intent=intent, urgent=route.urgent)
        return
    if intent == "greeting":
        turn.say("greeting").with_quick_replies(_popular(turn.language))
        return
    if intent == "thanks_goodbye":
        turn.say("goodbye")
        if turn.state.get("answered"):
            await _set_outcome(turn, "resolved_by_bot")
        return
    flow = get_flows().get(intent)
    if flow is not None:
        turn.state.update(flow=intent, step=0, values={}, awaiting=None, finals=False)
        turn.state["origin"] = turn.text if origin else ""
        await _run_flow(turn, flow)
        return
    hit = await knowledge_port.get_answer(
        session=turn.session, intent=intent, language=turn.language, channel=turn.conversation.channel
    )
    if hit is not None:
        await _answer_faq(turn, hit)
        return
    log.warning("intent %s has neither a flow nor a published answer", intent)
    if info.get("kind") == "faq":
        await _handoff(turn, "no_answer", intent=intent)
        return
    await _not_understood(turn)


async def _answer_faq(turn: Turn, hit: knowledge_port.KnowledgeHit) -> None:
    """An answer from the knowledge base: plain text for every channel, the rich answer for the H5 page."""
    intent = hit.intent
    answer = Reply(hit.answer_text, payload={"knowledge_entry": hit.entry_id})
    if hit.answer_html:
        answer.payload["answer_html"] = hit.answer_html
    feedback = Reply(t("faq_feedback", turn.language)).with_quick_replies(
        [
            (t("resolved_yes", turn.language), t("resolved_yes", turn.language)),
            (t("resolved_no", turn.language), t("agent", turn.language)),
        ]
    )
    turn.replies.extend([answer, feedback])
    turn.state["answered"] = True
    turn.state["last_intent"] = intent
    await _set_outcome(turn, "resolved_by_bot")


# --- flows ---------------------------------------------------------------------------------------------


def _ctx(turn: Turn, flow: Flow) -> ActionContext:
    assert turn.conversation.customer_id is not None
    return ActionContext(
        session=turn.session,
        conversation=turn.conversation,
        customer_id=turn.conversation.customer_id,
        language=turn.language,
        values=turn.state.setdefault("values", {}),
        core=customers.get_core_banking(turn.session),
        params=dict(flow.data),
    )


def render(template: str, values: dict[str, Any], language: str) -> str:
    """Fill {name} / {name.field}: a slot alone renders as its masked display."""

    def lookup(match: re.Match[str]) -> str:
        root, _, sub = match.group(1).partition(".")
        value = values.get(root)
        if root == "customer_name":
            return str(values.get("customer_name", ""))
        if isinstance(value, dict):
            return str(
                value.get(sub or "display", value.get("value", "")) if sub else value.get("display", "")
            )
        return "" if value is None else str(value)

    return re.sub(r"\{([a-z_][a-z0-9_.]*)\}", lookup, template)


async def _effective_level(turn: Turn) -> str:
    conversation = turn.conversation
    # What the channel established (an SMS number is L0, an app log-in L1); step-ups are re-checked
    # for expiry by get_effective_level, so a stale L2 on the conversation does not count.
    base = "L1" if conversation.verification_level in ("L1", "L2") else "L0"
    level, _ = await identity.get_effective_level(
        session=turn.session, customer_id=conversation.customer_id, base_level=base
    )
    return level


async def _run_flow(turn: Turn, flow: Flow) -> None:
    """Run steps from state["step"] until one needs an answer or the flow ends."""
    state = turn.state
    if turn.conversation.customer_id is None:
        turn.say("need_login", title=flow.title.get(turn.language)).with_quick_replies(
            [(t("agent", turn.language), t("agent", turn.language))]
        )
        _end_flow(state)
        return
    if state.get("step", 0) == 0 and not await _has_level(turn, flow, flow.level, resume_step=0):
        return
    values = state.setdefault("values", {})
    while state.get("flow") and state["step"] < len(flow.steps):
        index = state["step"]
        step = flow.steps[index]
        if step.when is not None and not step.when.holds(values):
            state["step"] = index + 1
            continue
        if isinstance(step, AskStep):
            if step.ask in values or await _prefill(turn, flow, step.ask):
                state["step"] = index + 1
                continue
            if await _ask(turn, flow, step.ask):
                return
            return  # the flow ended (nothing to choose from)
        if isinstance(step, CallStep):
            if not await _call(turn, flow, step):
                return
            state["step"] = index + 1
            continue
        if isinstance(step, SayStep):
            turn.replies.append(Reply(render(step.say.get(turn.language), values, turn.language)))
            state["step"] = index + 1
            continue
        if isinstance(step, ConfirmStep):
            if step.level and not await _has_level(turn, flow, step.level, resume_step=index):
                return
            prompt = render(step.confirm.get(turn.language), values, turn.language)
            turn.replies.append(
                Reply(prompt).with_quick_replies(
                    [
                        (t("confirm", turn.language), t("confirm", turn.language)),
                        (t("cancel", turn.language), t("cancel", turn.language)),
                    ]
                )
            )
            state["awaiting"] = {"type": "confirm", "tries": 0}
            return
        if isinstance(step, HandoffStep):
            if step.say is not None:
                turn.replies.append(Reply(render(step.say.get(turn.language), values, turn.language)))
            await _handoff(turn, step.handoff, intent=flow.intent, say=False, urgent=True)
            return
    if state.get("flow"):
        await _finish(turn, flow)


async def _finish(turn: Turn, flow: Flow) -> None:
    values = turn.state.get("values", {})
    if flow.done is not None:
        turn.replies.append(Reply(render(flow.done.get(turn.language), values, turn.language)))
    turn.say("anything_else")
    turn.state["answered"] = True
    turn.state["last_intent"] = flow.intent
    _end_flow(turn.state)
    await _set_outcome(turn, "resolved_by_bot")


async def _candidates(turn: Turn, flow: Flow, slot_name: str) -> list[dict[str, Any]]:
    ctx = _ctx(turn, flow)
    return await list_candidates(
        core=ctx.core, customer_id=ctx.customer_id, slot=flow.slots[slot_name], language=turn.language
    )


async def _prefill(turn: Turn, flow: Flow, slot_name: str) -> bool:
    """Fill a slot without asking: the only item there is, or what the first message already said."""
    slot = flow.slots[slot_name]
    values = turn.state["values"]
    candidates: list[dict[str, Any]] = []
    if slot.kind in LIST_KINDS:
        candidates = await _candidates(turn, flow, slot_name)
        if len(candidates) == 1:
            values[slot_name] = candidates[0]
            return True
    origin = turn.state.get("origin") or ""
    if origin and slot.kind in (*LIST_KINDS, "choice", "amount", "phone", "date"):
        parsed = parse_answer(
            slot=slot,
            text=origin,
            entities=extract_entities(origin, products=turn.products),
            candidates=candidates,
            language=turn.language,
        )
        if (
            parsed.value is not None
            and not parsed.skipped
            and (slot.kind != "choice" or choice_number(origin) is None)
        ):
            values[slot_name] = parsed.value
            return True
    return False


async def _ask(turn: Turn, flow: Flow, slot_name: str, *, problem: str | None = None) -> bool:
    """Ask for a slot; False (and the flow ends) when a list slot has nothing to offer."""
    slot = flow.slots[slot_name]
    values = turn.state["values"]
    prompt = render(slot.prompt.get(turn.language), values, turn.language)
    if problem:
        prompt = f"{problem}{prompt}" if not turn.en else f"{problem} {prompt}"
    labels: list[str] = []
    if slot.kind in LIST_KINDS:
        candidates = await _candidates(turn, flow, slot_name)
        if not candidates:
            assert slot.none is not None
            turn.replies.append(Reply(render(slot.none.get(turn.language), values, turn.language)))
            turn.say("anything_else")
            turn.state["answered"] = True
            _end_flow(turn.state)
            await _set_outcome(turn, "resolved_by_bot")  # the answer is that there is nothing to do
            return False
        labels = [c["display"] for c in candidates]
    elif slot.kind == "choice":
        labels = [o.label.get(turn.language) for o in slot.options]
    elif slot.kind == "yes_no":
        labels = [t("yes", turn.language), t("no", turn.language)]
    text = f"{prompt}\n{options_text(labels)}" if labels and slot.kind != "yes_no" else prompt
    turn.replies.append(
        Reply(text).with_quick_replies([(label, label) for label in labels]) if labels else Reply(text)
    )
    tries = (turn.state.get("awaiting") or {}).get("tries", 0) if problem else 0
    turn.state["awaiting"] = {"type": "slot", "slot": slot_name, "tries": tries}
    return True


async def _call(turn: Turn, flow: Flow, step: CallStep) -> bool:
    ctx = _ctx(turn, flow)
    try:
        result = await ACTIONS[step.call].fn(ctx)
    except CoreBankingRefused as refused:
        turn.replies.append(
            Reply(f"{refused.message(turn.language)}\n{t('offer_agent', turn.language)}").with_quick_replies(
                [(t("agent", turn.language), t("agent", turn.language))]
            )
        )
        log.info("flow %s: core banking refused %s (%s)", flow.id, step.call, refused.code)
        _end_flow(turn.state)
        turn.state["answered"] = True
        return False
    except DomainError as exc:  # e.g. a work order the tickets domain refuses: say why, offer a person
        log.warning("flow %s: %s refused: %s", flow.id, step.call, exc.code)
        turn.replies.append(
            Reply(
                f"{_domain_text(exc, turn.language)}\n{t('offer_agent', turn.language)}"
            ).with_quick_replies([(t("agent", turn.language), t("agent", turn.language))])
        )
        _end_flow(turn.state)
        return False
    if step.save_as:
        ctx.values[step.save_as] = {**result.values, "display": result.values.get("reference", "")}
    if step.final:
        turn.state["finals"] = True
    turn.replies.extend(result.replies)
    if result.end:
        turn.say("anything_else")
        turn.state["answered"] = True
        _end_flow(turn.state)
        await _set_outcome(turn, "resolved_by_bot")
        return False
    return True


async def _continue_flow(turn: Turn, flow: Flow) -> bool:
    """Handle a message while the flow waits; False when the message is about something else."""
    state = turn.state
    awaiting = state.get("awaiting") or {}
    if awaiting.get("type") == "slot":
        slot_name = awaiting["slot"]
        slot = flow.slots[slot_name]
        candidates = await _candidates(turn, flow, slot_name) if slot.kind in LIST_KINDS else []
        parsed = parse_answer(
            slot=slot, text=turn.text, entities=turn.entities, candidates=candidates, language=turn.language
        )
        if parsed.value is not None:
            state["values"][slot_name] = parsed.value
            state["awaiting"] = None
            state["step"] = flow.slot_step(slot_name) + 1
            await _run_flow(turn, flow)
            return True
        if await _correct(turn, flow, exclude=slot_name):
            return True
        return await _not_an_answer(turn, flow, parsed, slot_name)
    if awaiting.get("type") == "confirm":
        answer = normalize_answer(turn.text)
        if await _correct(turn, flow, exclude=None):
            return True
        if YES.match(answer):
            state["awaiting"] = None
            state["step"] += 1
            await _run_flow(turn, flow)
            return True
        if NO.match(answer):
            turn.say("cancelled", title=flow.title.get(turn.language))
            _end_flow(state)
            await _set_outcome(turn, "abandoned")
            return True
        return await _not_an_answer(turn, flow, Parsed(), None)
    return False


async def _not_an_answer(turn: Turn, flow: Flow, parsed: Parsed, slot_name: str | None) -> bool:
    """Not an answer to the pending question: another request, or ask again (then hand over)."""
    policy = get_policy()
    prediction = turn.prediction
    if (
        parsed.problem is None
        and not prediction.out_of_scope
        and prediction.confidence >= policy.understanding.switch
        and prediction.intent != flow.intent
        and prediction.intent not in SMALL_TALK
    ):
        turn.say("switching", title=flow.title.get(turn.language))
        _end_flow(turn.state)
        await _set_outcome(turn, "abandoned")
        return False
    awaiting = turn.state["awaiting"]
    awaiting["tries"] = int(awaiting.get("tries", 0)) + 1
    limit = flow.slots[slot_name].attempts if slot_name else 3
    if awaiting["tries"] >= limit:
        await _handoff(turn, "slot_failed", intent=flow.intent)
        return True
    if slot_name is None:
        turn.say("confirm_again")
        return True
    await _ask(turn, flow, slot_name, problem=parsed.problem or t("retry_slot", turn.language))
    return True


async def _correct(turn: Turn, flow: Flow, *, exclude: str | None) -> bool:
    """'不对，是尾号5678': change an earlier answer and go on from there (not after an irreversible call)."""
    state = turn.state
    if state.get("finals") or not (
        CORRECTION.search(turn.text) or state["awaiting"].get("type") == "confirm"
    ):
        return False
    values = state["values"]
    for name, slot in flow.slots.items():
        if name == exclude or name not in values or slot.kind in ("text", "yes_no"):
            continue
        candidates = await _candidates(turn, flow, name) if slot.kind in LIST_KINDS else []
        parsed = parse_answer(
            slot=slot, text=turn.text, entities=turn.entities, candidates=candidates, language=turn.language
        )
        if parsed.value is None or parsed.skipped or parsed.value.get("value") == values[name].get("value"):
            continue
        if slot.kind == "choice" and choice_number(turn.text) is not None:
            continue
        values[name] = parsed.value
        state["awaiting"] = None
        state["step"] = flow.slot_step(name) + 1
        await _run_flow(turn, flow)
        return True
    return False


# --- step-up ---------------------------------------------------------------------------------------


async def _has_level(turn: Turn, flow: Flow, required: str, *, resume_step: int) -> bool:
    """True when the customer's valid verification reaches `required`; else start a step-up."""
    if identity.LEVEL_RANK[await _effective_level(turn)] >= identity.LEVEL_RANK[required]:
        return True
    conversation = turn.conversation
    assert conversation.customer_id is not None
    title = flow.title.get(turn.language)
    methods = await identity.list_step_up_methods(
        session=turn.session, customer_id=conversation.customer_id, channel=conversation.channel
    )
    if "otp" not in methods:
        turn.say("step_up_app_only", title=title)
        turn.state["awaiting"] = {"type": "otp", "challenge": None, "resume": resume_step}
        turn.state["step"] = resume_step
        return False
    try:
        challenge = await identity.do_send_otp(
            session=turn.session,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            conversation_id=conversation.id,
            purpose=f"bot:{flow.id}",
            actor=BOT,
        )
    except DomainError as exc:
        turn.replies.append(Reply(_domain_text(exc, turn.language)))
        _end_flow(turn.state)
        return False
    minutes = max(1, get_settings().otp_ttl_seconds // 60)
    reply = turn.say("step_up_otp", title=title, phone_tail=challenge.phone[-4:], minutes=minutes)
    reply.payload["step_up"] = {
        "methods": methods,
        "challenge_id": challenge.public_id,
        "phone": mask_phone(challenge.phone),
    }
    turn.state["awaiting"] = {"type": "otp", "challenge": challenge.public_id, "resume": resume_step}
    turn.state["step"] = resume_step
    return False


def _level_at(flow: Flow, step: int) -> str:
    """The level a step-up paused at `step` was for: the flow's at the start, else the step's own."""
    own = getattr(flow.steps[step], "level", None) if step else None
    return own or flow.level


def _domain_text(exc: DomainError, language: str) -> str:
    details = exc.details if isinstance(exc.details, dict) else {}
    zh = details.get("message_zh")
    return str(exc.message) if language.startswith("en") or not zh else str(zh)


async def _on_code(turn: Turn, flow: Flow) -> bool:
    """A message while a one-time code is awaited; False lets the turn go on (e.g. 'cancel')."""
    state = turn.state
    awaiting = state["awaiting"]
    customer_id = turn.conversation.customer_id
    assert customer_id is not None
    answer = normalize_answer(turn.text)
    resume = int(awaiting.get("resume", 0))
    required = _level_at(flow, resume)
    if CODE.match(turn.text) and awaiting.get("challenge"):
        try:
            await identity.do_verify_otp(
                session=turn.session,
                challenge_public_id=awaiting["challenge"],
                code=turn.text,
                customer_id=customer_id,
                actor=Actor(type="customer", id=str(customer_id), name="customer"),
            )
        except DomainError as exc:
            turn.replies.append(Reply(_domain_text(exc, turn.language)))
            if exc.code in ("otp_locked", "otp_expired", "otp_used"):
                await _handoff(turn, "step_up_failed", intent=flow.intent)
            return True
        turn.say("step_up_done")
        state["awaiting"] = None
        state["step"] = resume
        await _run_flow(turn, flow)
        return True
    if RESEND.match(answer):
        state["awaiting"] = None
        await _has_level(turn, flow, required, resume_step=resume)
        return True
    if CANCEL.match(answer):
        return False
    if identity.LEVEL_RANK[await _effective_level(turn)] >= identity.LEVEL_RANK[required]:
        state["awaiting"] = None  # verified meanwhile (app biometric): go on
        await _run_flow(turn, flow)
        return True
    turn.say("step_up_remind")
    return True


# --- hand-off and outcome ----------------------------------------------------------------------------


async def _tier(turn: Turn) -> str | None:
    if turn.conversation.customer_id is None:
        return None
    customer = await customers.get_customer(session=turn.session, customer_id=turn.conversation.customer_id)
    return customer.tier if customer is not None else None


async def _handoff(
    turn: Turn, reason: str, *, intent: str | None, urgent: bool = False, say: bool = True
) -> None:
    flow = get_flows().get(turn.state.get("flow") or "")
    if say:
        key = f"handoff_{reason}"
        turn.say(key if key in _HANDOFF_KEYS else "handoff_flow")
    tier = await _tier(turn)
    confidence = turn._prediction.confidence if turn._prediction is not None else None
    slots = {
        name: value.get("display", "")
        for name, value in (turn.state.get("values") or {}).items()
        if flow is not None and name in flow.slots and isinstance(value, dict)
    }
    products = turn.state.get("products") or []
    if products and "product" not in slots:  # product names are not personal data: shown as named
        slots["product"] = "、".join(products)
    await do_handoff(
        session=turn.session,
        conversation=turn.conversation,
        reason=reason,
        intent=intent or turn.state.get("last_intent"),
        confidence=confidence,
        slots=slots,
        flow_title=flow.title.get("zh-CN") if flow is not None else None,
        tier=tier,
        urgent=urgent,
        language=turn.language,
    )
    _end_flow(turn.state)
    turn.state["failures"] = 0
    turn.state.pop("suggestions", None)


_HANDOFF_KEYS = {
    f"handoff_{r}"
    for r in (
        "customer_request",
        "not_understood",
        "negative_sentiment",
        "complaint",
        "fraud",
        "cancel_transfer",
        "atm_issue",
        "slot_failed",
        "step_up_failed",
    )
}


async def _set_outcome(turn: Turn, outcome: str) -> None:
    """resolved_by_bot / abandoned until a hand-off; a hand-off is final for the bot's outcome."""
    conversation = turn.conversation
    if conversation.bot_outcome == "handed_off":
        return
    if outcome == "abandoned" and conversation.bot_outcome == "resolved_by_bot":
        return  # something was resolved already; cancelling a second request does not undo it
    conversation.bot_outcome = outcome


def _popular(language: str) -> list[tuple[str, str]]:
    items = ["balance_inquiry", "bill_inquiry", "card_loss_report", "human_agent"]
    return [(intent_title(i, language), intent_title(i, language)) for i in items]


def transcript_lines(messages: Sequence[Any]) -> list[dict[str, str]]:
    return [
        {"sender": m.sender_type, "text": m.content[:500], "at": m.created_at.isoformat()} for m in messages
    ]
