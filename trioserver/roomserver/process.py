"""Processing one input inside its room's worker.

For a ``new`` event, the checks the spec lists on receipt of a PDU, in order
(server-server API, "Checks performed on receipt of a PDU"): format and
size; signatures and hashes (remote events); auth against the event's own
auth events; auth against the state before the event (resolved over its
prev events' states when they differ); soft-fail against the current state.
Then one write transaction stores the event, its state snapshots, the
forward extremities, the current state and its delta, and assigns the
stream position. Only after that commit is the room's in-memory context
updated and the output published.

Invariants: the worker of a room is the only task that runs this for the
room, one input at a time; an event already stored is answered with its
stored verdict and changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from trioserver.db import Database
from trioserver.db.nids import RoomNID, StateSnapshotNID
from trioserver.db.roomserver_events import (
    StoredEvent,
    auth_chain_ids_txn,
    get_events_by_id_txn,
    store_event_txn,
)
from trioserver.db.roomserver_nids import (
    get_or_create_room_nid_txn,
)
from trioserver.db.roomserver_pdus import load_pdus_txn
from trioserver.protocol.auth import (
    AuthError,
    auth_event_types,
    check_auth,
    check_auth_events_selection,
)
from trioserver.protocol.events import auth_event_ids, prev_event_ids, redacts
from trioserver.protocol.hashes import InvalidPdu, check_content_hash, check_pdu_format
from trioserver.protocol.power_levels import PowerLevels, creators, power_level_of
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import RoomVersion, room_version
from trioserver.protocol.signing import SignatureError
from trioserver.protocol.state_res import resolve_state_lazy
from trioserver.roomserver.commit import (
    Plan,
    commit_event_txn,
    key_of,
    stored_event_row,
    string_states_txn,
)
from trioserver.roomserver.context import PDU, EventCache, RoomContext, StateKey
from trioserver.roomserver.events import event_id_of, room_id_of
from trioserver.roomserver.inputs import (
    InputEvent,
    InputKind,
    InputResult,
    TransactionKey,
    Verdict,
)
from trioserver.roomserver.keyring import KeyRing
from trioserver.roomserver.output import OutputEvent, OutputStream
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)


class EventFetcher(Protocol):
    """Fetches events from other servers (federation fills this in)."""

    async def fetch_events(
        self, origin: str, room_id: str, event_ids: Collection[str]
    ) -> list[PDU]: ...


@dataclass
class InputMetrics:
    processed: int = 0
    accepted: int = 0
    rejected: int = 0
    soft_failed: int = 0
    dropped: int = 0
    duplicates: int = 0
    missing_prev: int = 0
    seconds: float = 0.0


def _verdict_of_stored(stored: StoredEvent) -> InputResult:
    if stored.rejected_reason is not None:
        verdict, reason = Verdict.REJECTED, stored.rejected_reason
    elif stored.is_soft_failed:
        verdict, reason = Verdict.SOFT_FAILED, "soft-failed"
    else:
        verdict, reason = Verdict.ACCEPTED, None
    return InputResult(stored.event_id, verdict, reason, stored.stream_ordering, duplicate=True)


class Processor:
    """The input pipeline shared by every room worker."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        server_name: str,
        keyring: KeyRing,
        events: EventCache,
        output: OutputStream,
        fetcher: EventFetcher | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._server_name = server_name
        self._keyring = keyring
        self._events = events
        self._output = output
        self._fetcher = fetcher
        self.metrics = InputMetrics()

    # -- loading ---------------------------------------------------------

    async def pdus(self, event_ids: Iterable[str]) -> dict[str, PDU]:
        """PDUs of stored events, from the cache or the database."""
        wanted = list(dict.fromkeys(event_ids))
        found: dict[str, PDU] = {}
        missing: list[str] = []
        for event_id in wanted:
            pdu = self._events.get(event_id)
            if pdu is None:
                missing.append(event_id)
            else:
                found[event_id] = pdu
        if missing:
            loaded = await self._db.run_read(load_pdus_txn, missing)
            for event_id, pdu in loaded.items():
                self._events.put(event_id, pdu)
            found.update(loaded)
        return found

    async def _states_after(self, stored: Iterable[StoredEvent]) -> list[dict[StateKey, str]]:
        snapshots = [s.state_after for s in stored if s.state_after is not None]
        return await self._db.run_read(string_states_txn, snapshots)

    # -- the pipeline ----------------------------------------------------

    async def process(
        self,
        ctx: RoomContext,
        item: InputEvent,
        *,
        local: bool,
        built_here: bool = False,
        transaction: TransactionKey | None = None,
    ) -> InputResult:
        """Input ``item``. ``built_here``: the worker just built it from ``ctx``
        (a fresh event ID, prev events = the extremities, auth events from the
        current state), so the reads that establish those facts are skipped."""
        started = time.perf_counter()
        try:
            result = await self._process(
                ctx, item, local=local, built_here=built_here, transaction=transaction
            )
        finally:
            self.metrics.processed += 1
            self.metrics.seconds += time.perf_counter() - started
        if result.duplicate:
            self.metrics.duplicates += 1
        elif result.verdict is Verdict.ACCEPTED:
            self.metrics.accepted += 1
        elif result.verdict is Verdict.REJECTED:
            self.metrics.rejected += 1
        elif result.verdict is Verdict.SOFT_FAILED:
            self.metrics.soft_failed += 1
        elif result.verdict is Verdict.DROPPED:
            self.metrics.dropped += 1
        else:
            self.metrics.missing_prev += 1
        return result

    async def _process(
        self,
        ctx: RoomContext,
        item: InputEvent,
        *,
        local: bool,
        built_here: bool = False,
        transaction: TransactionKey | None = None,
    ) -> InputResult:
        version = room_version(item.room_version)
        pdu = item.pdu
        try:
            event_id = event_id_of(pdu, version)
        except (ValueError, TypeError, KeyError) as exc:
            return InputResult("", Verdict.DROPPED, f"no event ID: {exc}")
        if not built_here:
            stored = await self._db.run_read(get_events_by_id_txn, [event_id])
            if event_id in stored:
                return _verdict_of_stored(stored[event_id])
        # 1. Format and size.
        if version != ctx.version:
            return InputResult(event_id, Verdict.DROPPED, "room version does not match the room")
        try:
            check_pdu_format(pdu, version)
            if room_id_of(pdu, version) != ctx.room_id:
                raise InvalidPdu("M_BAD_JSON", "the event is for another room")
        except (InvalidPdu, ValueError) as exc:
            return InputResult(event_id, Verdict.DROPPED, f"malformed event: {exc}")
        # 2. Signatures; 3. hashes (a wrong content hash: processed redacted).
        if item.origin is not None:
            try:
                await self._keyring.verify_event(pdu, version.identifier)
            except SignatureError as exc:
                return InputResult(event_id, Verdict.DROPPED, f"bad signature: {exc}")
            if not check_content_hash(pdu, version):
                pdu = redact(pdu, version)
        if item.kind is InputKind.OUTLIER:
            return await self._store_outlier(ctx, event_id, pdu, item)
        return await self._process_with_state(
            ctx,
            event_id,
            pdu,
            item,
            version,
            local=local,
            built_here=built_here,
            transaction=transaction,
        )

    async def _process_with_state(
        self,
        ctx: RoomContext,
        event_id: str,
        pdu: PDU,
        item: InputEvent,
        version: RoomVersion,
        *,
        local: bool,
        built_here: bool = False,
        transaction: TransactionKey | None = None,
    ) -> InputResult:
        prev_ids = prev_event_ids(pdu)
        auth_ids = auth_event_ids(pdu)
        fast = built_here and set(prev_ids) == set(ctx.extremities)
        cited = (
            {} if fast else await self._db.run_read(get_events_by_id_txn, [*prev_ids, *auth_ids])
        )
        missing_prev = [p for p in prev_ids if not fast and (p not in cited or cited[p].is_outlier)]
        if missing_prev and item.state_before is None:
            return InputResult(
                event_id,
                Verdict.MISSING_PREV_EVENTS,
                "prev events are not known",
                missing_prev_events=tuple(missing_prev),
            )
        if not prev_ids and pdu.get("type") != "m.room.create":
            return InputResult(event_id, Verdict.DROPPED, "only a create event has no prev events")
        # 4. Auth against the event's own auth events.
        rejection = await self._check_own_auth_events(
            ctx, pdu, item, version, auth_ids, cited, known_good=fast
        )
        # 5. Auth against the state before the event.
        if not prev_ids:
            state_before: dict[StateKey, str] = {}
            before_snapshot: StateSnapshotNID | None = None
            before_base: StateSnapshotNID | None = None
        elif missing_prev:
            # The state before it was supplied (its prev events are not known here).
            state_before = dict(item.state_before or {})
            known = await self.pdus(state_before.values())
            if len(known) != len(set(state_before.values())):
                return InputResult(event_id, Verdict.DROPPED, "supplied state names unknown events")
            before_snapshot, before_base = None, None
        elif set(prev_ids) == set(ctx.extremities) and ctx.current_snapshot is not None:
            state_before = ctx.current_state
            before_snapshot = ctx.current_snapshot
            before_base = ctx.current_snapshot
        else:
            prevs = [cited[p] for p in prev_ids]
            state_before, before_snapshot = await self._resolve_prev_states(ctx, prevs)
            before_base = prevs[0].state_after
        if rejection is None:
            rejection = await self._check_against(ctx, pdu, version, state_before, "state before")
        if rejection is not None and local:
            # A local client's event that fails auth is refused, not stored.
            return InputResult(event_id, Verdict.REJECTED, rejection)
        # 6. Soft-fail against the current state.
        soft_failure: str | None = None
        live = item.kind is InputKind.NEW and rejection is None
        if live and prev_ids and state_before is not ctx.current_state and ctx.current_state:
            soft_failure = await self._check_against(
                ctx, pdu, version, ctx.current_state, "current state"
            )
        plan = Plan(
            event_id=event_id,
            pdu=pdu,
            kind=item.kind,
            rejection=rejection,
            soft_failure=soft_failure,
            state_before=state_before,
            before_snapshot=before_snapshot,
            before_base=before_base,
            new_extremities=None,
            new_current=None,
            linear=False,
            transaction=transaction,
        )
        if live and soft_failure is None:
            await self._plan_current_state(ctx, plan, prev_ids, version)
        if rejection is None and pdu.get("type") == "m.room.redaction":
            plan.apply_redaction_to = await self._redaction_target(ctx, pdu, version, state_before)
        return await self._commit(ctx, plan, version)

    async def _check_own_auth_events(
        self,
        ctx: RoomContext,
        pdu: PDU,
        item: InputEvent,
        version: RoomVersion,
        auth_ids: list[str],
        cited: Mapping[str, StoredEvent],
        *,
        known_good: bool = False,
    ) -> str | None:
        """``known_good``: the auth events come from the current state (stored, accepted)."""
        missing = [] if known_good else [a for a in auth_ids if a not in cited]
        if missing and self._fetcher is not None and item.origin is not None:
            await self._fetch_outliers(ctx, item.origin, missing)
            refreshed = await self._db.run_read(get_events_by_id_txn, missing)
            missing = [a for a in missing if a not in refreshed]
        if missing:
            return f"auth events are missing: {', '.join(sorted(missing))}"
        rejected = [a for a in auth_ids if a in cited and cited[a].rejected_reason is not None]
        if rejected:
            return f"auth events were rejected: {', '.join(sorted(rejected))}"
        create_id = _create_id(ctx, {})
        uncited_create = (
            [create_id]
            if version.room_id_from_create_event
            and create_id
            and pdu.get("type") != "m.room.create"
            else []
        )
        auth_pdus = await self.pdus([*auth_ids, *uncited_create])
        if uncited_create and uncited_create[0] not in auth_pdus:
            return "the room's create event is not known"
        try:
            check_auth_events_selection(pdu, [auth_pdus[a] for a in auth_ids], version)
            by_key = {key_of(auth_pdus[a]): auth_pdus[a] for a in [*auth_ids, *uncited_create]}
            check_auth(pdu, by_key, version.identifier, create_event_id=create_id)
        except AuthError as exc:
            return str(exc)
        return None

    async def _check_against(
        self,
        ctx: RoomContext,
        pdu: PDU,
        version: RoomVersion,
        state: Mapping[StateKey, str],
        what: str,
    ) -> str | None:
        keys = auth_event_types(pdu, version.identifier)
        chosen = {key: state[key] for key in keys if key in state}
        if pdu.get("type") != "m.room.create" and ("m.room.create", "") in state:
            chosen[("m.room.create", "")] = state[("m.room.create", "")]
        pdus = await self.pdus(chosen.values())
        by_key = {key: pdus[event_id] for key, event_id in chosen.items() if event_id in pdus}
        try:
            check_auth(pdu, by_key, version.identifier, create_event_id=_create_id(ctx, by_key))
        except AuthError as exc:
            return f"{what}: {exc}"
        return None

    async def _resolve_prev_states(
        self, ctx: RoomContext, prevs: list[StoredEvent]
    ) -> tuple[dict[StateKey, str], StateSnapshotNID | None]:
        snapshots = {p.state_after for p in prevs}
        if len(snapshots) == 1:
            (only,) = snapshots
            states = await self._states_after(prevs[:1])
            return states[0], only
        states = await self._states_after(prevs)
        return await self.resolve(ctx, states), None

    async def resolve(
        self,
        ctx: RoomContext,
        states: list[dict[StateKey, str]],
        pending: Mapping[str, PDU] | None = None,
    ) -> dict[StateKey, str]:
        """State resolution over ``states``. Every event it may need (the
        conflicted events and their auth chains) is loaded first, so the pure
        resolver runs without I/O; ``pending`` holds events not stored yet."""
        if all(s == states[0] for s in states[1:]):
            return dict(states[0])
        pending = pending or {}
        keys: set[StateKey] = set().union(*states)
        conflicted = {s[key] for key in keys for s in states if key in s}
        stored_ids = [i for i in conflicted if i not in pending]
        roots = stored_ids + [a for p in pending.values() for a in auth_event_ids(p)]
        chain = await self._db.run_read(auth_chain_ids_txn, roots)
        await self.pdus([*stored_ids, *chain, *roots])

        def fetch(ids: Iterable[str]) -> Mapping[str, PDU]:
            found: dict[str, PDU] = {}
            for event_id in ids:
                pdu = pending.get(event_id) or self._events.get(event_id)
                if pdu is not None:
                    found[event_id] = pdu
            return found

        return resolve_state_lazy(ctx.version.identifier, states, fetch)

    async def _plan_current_state(
        self, ctx: RoomContext, plan: Plan, prev_ids: list[str], version: RoomVersion
    ) -> None:
        depth = int(plan.pdu.get("depth", 0))
        extremities = {e: d for e, d in ctx.extremities.items() if e not in prev_ids}
        extremities[plan.event_id] = depth
        plan.new_extremities = extremities
        after = dict(plan.state_before)
        if "state_key" in plan.pdu:
            after[key_of(plan.pdu)] = plan.event_id
        if len(extremities) == 1:
            plan.linear = True
            plan.new_current = after
            return
        others = [e for e in extremities if e != plan.event_id]
        stored = await self._db.run_read(get_events_by_id_txn, others)
        states = await self._states_after(stored.values())
        plan.new_current = await self.resolve(
            ctx, [after, *states], pending={plan.event_id: plan.pdu}
        )

    async def _redaction_target(
        self, ctx: RoomContext, pdu: PDU, version: RoomVersion, state: Mapping[StateKey, str]
    ) -> str | None:
        """The event a valid redaction applies to now (rooms v3+, "Handling
        redactions": the redacter's power, or the same server as the target)."""
        target_id = redacts(pdu, version)
        if target_id is None:
            return None
        targets = await self.pdus([target_id])
        target = targets.get(target_id)
        if target is None or target.get("room_id", ctx.room_id) != pdu.get("room_id", ctx.room_id):
            return None
        sender = str(pdu.get("sender"))
        if sender.partition(":")[2] == str(target.get("sender")).partition(":")[2]:
            return target_id
        wanted = [k for k in (("m.room.power_levels", ""), ("m.room.create", "")) if k in state]
        pdus = await self.pdus(state[k] for k in wanted)
        pl = pdus.get(state.get(("m.room.power_levels", ""), ""))
        create = pdus.get(state.get(("m.room.create", ""), ""))
        levels = PowerLevels.from_event(pl, version) if pl is not None else None
        room_creators = creators(create, version) if create is not None else frozenset()
        if power_level_of(sender, levels, room_creators, version) >= (
            levels.redact if levels is not None else 50
        ):
            return target_id
        return None

    async def _fetch_outliers(self, ctx: RoomContext, origin: str, event_ids: list[str]) -> None:
        assert self._fetcher is not None
        try:
            fetched = await self._fetcher.fetch_events(origin, ctx.room_id, event_ids)
        except Exception:
            log.warning("fetching %d auth events from %s failed", len(event_ids), origin)
            return
        for outlier in fetched:
            await self._process(
                ctx,
                InputEvent(InputKind.OUTLIER, outlier, ctx.version.identifier, origin),
                local=False,
            )

    # -- storing ---------------------------------------------------------

    async def _store_outlier(
        self, ctx: RoomContext, event_id: str, pdu: PDU, item: InputEvent
    ) -> InputResult:
        version = ctx.version
        auth_ids = auth_event_ids(pdu)
        auth_pdus = await self.pdus(auth_ids)
        rejection: str | None = None
        if len(auth_pdus) == len(set(auth_ids)):
            by_key = {key_of(p): p for p in auth_pdus.values()}
            try:
                check_auth(pdu, by_key, version.identifier, create_event_id=_create_id(ctx, by_key))
            except AuthError as exc:
                rejection = str(exc)
        else:
            rejection = "auth events are missing"
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> RoomNID:
            room_nid = ctx.room_nid or get_or_create_room_nid_txn(
                conn, ctx.room_id, version.identifier
            )
            store_event_txn(
                conn,
                stored_event_row(room_nid, event_id, pdu, now, outlier=True, rejected=rejection),
            )
            return room_nid

        ctx.room_nid = await self._db.run_write(txn)
        self._events.put(event_id, pdu)
        verdict = Verdict.ACCEPTED if rejection is None else Verdict.REJECTED
        return InputResult(event_id, verdict, rejection, pdu=pdu)

    async def _commit(self, ctx: RoomContext, plan: Plan, version: RoomVersion) -> InputResult:
        now = self._clock.time_ms()  # not in the transaction: it may run in a thread
        old_current = ctx.current_state

        room_nid, position, current, adds, removes = await self._db.run_write(
            commit_event_txn, plan, ctx.room_id, ctx.room_nid, version, old_current, now
        )
        # Committed: now the room's context and the output follow.
        ctx.room_nid = room_nid
        if plan.new_extremities is not None:
            ctx.extremities = plan.new_extremities
        if plan.new_current is not None and current is not None:
            ctx.current_state = plan.new_current
            ctx.current_snapshot = current
        self._events.put(plan.event_id, plan.pdu)
        if plan.rejection is not None:
            verdict, reason = Verdict.REJECTED, plan.rejection
        elif plan.soft_failure is not None:
            verdict, reason = Verdict.SOFT_FAILED, plan.soft_failure
        else:
            verdict, reason = Verdict.ACCEPTED, None
        if position is not None:
            self._output.publish(
                OutputEvent(
                    position=position,
                    room_id=ctx.room_id,
                    event_id=plan.event_id,
                    room_version=version.identifier,
                    pdu=plan.pdu,
                    adds_state=adds,
                    removes_state=removes,
                    history_visibility=await self._history_visibility(plan.state_before),
                    redacts=plan.apply_redaction_to,
                )
            )
        return InputResult(plan.event_id, verdict, reason, position, pdu=plan.pdu)

    async def _history_visibility(self, state: Mapping[StateKey, str]) -> str:
        event_id = state.get(("m.room.history_visibility", ""))
        if event_id is None:
            return "shared"
        pdus = await self.pdus([event_id])
        value = pdus.get(event_id, {}).get("content", {}).get("history_visibility")
        return value if isinstance(value, str) else "shared"


# -- helpers -----------------------------------------------------------------


def _create_id(ctx: RoomContext, by_key: Mapping[StateKey, PDU]) -> str | None:
    if ctx.version.room_id_from_create_event:
        return "$" + ctx.room_id[1:]
    return ctx.create_event_id
