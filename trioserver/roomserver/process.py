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
from typing import Any, Protocol

from trioserver.db import Database
from trioserver.db.nids import EventNID, RoomNID, StateSnapshotNID
from trioserver.db.room_txns import record_txn_txn
from trioserver.db.roomserver_current import update_current_state_txn
from trioserver.db.roomserver_events import (
    NewEvent,
    StoredEvent,
    auth_chain_ids_txn,
    get_events_by_id_txn,
    set_forward_extremities_txn,
    set_redacted_by_txn,
    store_event_txn,
)
from trioserver.db.roomserver_nids import (
    event_ids_txn,
    get_or_create_event_nids_txn,
    get_or_create_room_nid_txn,
    get_or_create_state_key_nid_txn,
    get_or_create_state_key_nids_txn,
    get_or_create_type_nid_txn,
    get_or_create_type_nids_txn,
    state_keys_txn,
    type_names_txn,
)
from trioserver.db.roomserver_outputs import record_state_delta_txn
from trioserver.db.roomserver_pdus import load_pdus_txn
from trioserver.db.roomserver_state import load_states_txn
from trioserver.protocol.auth import (
    AuthError,
    auth_event_types,
    check_auth,
    check_auth_events_selection,
)
from trioserver.protocol.events import auth_event_ids, prev_event_ids, redacts
from trioserver.protocol.hashes import InvalidPdu, check_content_hash, check_pdu_format
from trioserver.protocol.json import canonical_json
from trioserver.protocol.power_levels import PowerLevels, creators, power_level_of
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import RoomVersion, room_version
from trioserver.protocol.signing import SignatureError
from trioserver.protocol.state_res import resolve_state_lazy
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
from trioserver.roomserver.state_storage import store_state_changes_txn, store_state_txn
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


@dataclass
class _Plan:
    """Everything the write transaction needs, decided before it runs."""

    event_id: str
    pdu: PDU
    kind: InputKind
    rejection: str | None
    soft_failure: str | None
    state_before: dict[StateKey, str]
    before_snapshot: StateSnapshotNID | None  #: None: store ``state_before``
    before_base: StateSnapshotNID | None  #: a snapshot ``state_before`` shares blocks with
    new_extremities: dict[str, int] | None  #: None: unchanged
    new_current: dict[StateKey, str] | None  #: None: unchanged; else the full new state
    linear: bool  #: new current state = state after this event, by construction
    apply_redaction_to: str | None = None
    #: a client's transaction ID, recorded in the same commit as the event
    transaction: TransactionKey | None = None


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
        return await self._db.run_read(_string_states_txn, snapshots)

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
        plan = _Plan(
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
            by_key = {_key_of(auth_pdus[a]): auth_pdus[a] for a in [*auth_ids, *uncited_create]}
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
        self, ctx: RoomContext, plan: _Plan, prev_ids: list[str], version: RoomVersion
    ) -> None:
        depth = int(plan.pdu.get("depth", 0))
        extremities = {e: d for e, d in ctx.extremities.items() if e not in prev_ids}
        extremities[plan.event_id] = depth
        plan.new_extremities = extremities
        after = dict(plan.state_before)
        if "state_key" in plan.pdu:
            after[_key_of(plan.pdu)] = plan.event_id
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
            by_key = {_key_of(p): p for p in auth_pdus.values()}
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
                conn, _new_event(room_nid, event_id, pdu, now, outlier=True, rejected=rejection)
            )
            return room_nid

        ctx.room_nid = await self._db.run_write(txn)
        self._events.put(event_id, pdu)
        verdict = Verdict.ACCEPTED if rejection is None else Verdict.REJECTED
        return InputResult(event_id, verdict, rejection, pdu=pdu)

    async def _commit(self, ctx: RoomContext, plan: _Plan, version: RoomVersion) -> InputResult:
        now = self._clock.time_ms()  # not in the transaction: it may run in a thread
        old_current = ctx.current_state

        def txn(
            conn: sqlite3.Connection,
        ) -> tuple[RoomNID, int | None, StateSnapshotNID | None, tuple[str, ...], tuple[str, ...]]:
            room_nid = ctx.room_nid or get_or_create_room_nid_txn(
                conn, ctx.room_id, version.identifier
            )
            event_nid = get_or_create_event_nids_txn(conn, room_nid, [plan.event_id])[plan.event_id]
            before = plan.before_snapshot
            if before is None:
                if plan.state_before:
                    before = store_state_txn(
                        conn,
                        room_nid,
                        _to_nids(conn, room_nid, plan.state_before),
                        plan.before_base,
                    )
                else:
                    before = store_state_changes_txn(conn, room_nid, None, {})
            after = before
            key = _key_of(plan.pdu) if "state_key" in plan.pdu else None
            if key is not None and plan.rejection is None:
                type_nid = get_or_create_type_nid_txn(conn, key[0])
                key_nid = get_or_create_state_key_nid_txn(conn, key[1])
                after = store_state_changes_txn(
                    conn, room_nid, before, {(type_nid, key_nid): event_nid}
                )
            result = store_event_txn(
                conn,
                _new_event(
                    room_nid,
                    plan.event_id,
                    plan.pdu,
                    now,
                    rejected=plan.rejection,
                    soft_failed=plan.soft_failure is not None,
                    before=before,
                    after=after,
                    live=plan.kind is not InputKind.BACKFILL,
                ),
            )
            current: StateSnapshotNID | None = None
            adds: tuple[str, ...] = ()
            removes: tuple[str, ...] = ()
            if plan.new_extremities is not None:
                ext_nids = get_or_create_event_nids_txn(conn, room_nid, plan.new_extremities)
                set_forward_extremities_txn(conn, room_nid, ext_nids.values())
            if plan.new_current is not None:
                if plan.linear:
                    current = after
                else:
                    current = store_state_txn(
                        conn, room_nid, _to_nids(conn, room_nid, plan.new_current), after
                    )
                if plan.linear and plan.state_before is old_current:
                    # The new current state is the old one plus this event:
                    # the delta is its key alone (no walk over a large state).
                    added, removed = {}, {}
                    if key is not None and plan.rejection is None:
                        added = {key: plan.event_id}
                        if key in old_current:
                            removed = {key: old_current[key]}
                else:
                    added = {k: v for k, v in plan.new_current.items() if old_current.get(k) != v}
                    removed = {k: v for k, v in old_current.items() if plan.new_current.get(k) != v}
                added_nids = _to_nids(conn, room_nid, added)
                removed_nids = _to_nids(conn, room_nid, removed)
                update_current_state_txn(conn, room_nid, current, added_nids, removed_nids)
                adds, removes = tuple(sorted(added.values())), tuple(sorted(removed.values()))
                if (adds or removes) and result.stream_ordering is not None:
                    record_state_delta_txn(
                        conn,
                        result.stream_ordering,
                        room_nid,
                        added_nids.values(),
                        removed_nids.values(),
                    )
            if plan.transaction is not None and plan.rejection is None:
                txn = plan.transaction
                record_txn_txn(
                    conn,
                    txn.user_id,
                    txn.device_id,
                    txn.scope,
                    txn.txn_id,
                    ctx.room_id,
                    plan.event_id,
                    now,
                )
            if plan.apply_redaction_to is not None:
                target = get_or_create_event_nids_txn(conn, room_nid, [plan.apply_redaction_to])
                set_redacted_by_txn(conn, target[plan.apply_redaction_to], event_nid)
            return room_nid, result.stream_ordering, current, adds, removes

        room_nid, position, current, adds, removes = await self._db.run_write(txn)
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


def _key_of(pdu: Mapping[str, Any]) -> StateKey:
    return (str(pdu.get("type")), str(pdu.get("state_key")))


def _create_id(ctx: RoomContext, by_key: Mapping[StateKey, PDU]) -> str | None:
    if ctx.version.room_id_from_create_event:
        return "$" + ctx.room_id[1:]
    return ctx.create_event_id


def _new_event(
    room_nid: RoomNID,
    event_id: str,
    pdu: PDU,
    received_ts: int,
    *,
    outlier: bool = False,
    rejected: str | None = None,
    soft_failed: bool = False,
    before: StateSnapshotNID | None = None,
    after: StateSnapshotNID | None = None,
    live: bool = True,
) -> NewEvent:
    state_key = pdu.get("state_key")
    return NewEvent(
        event_id=event_id,
        room_nid=room_nid,
        event_type=str(pdu.get("type")),
        state_key=state_key if isinstance(state_key, str) else None,
        depth=int(pdu.get("depth", 0)),
        origin_server_ts=int(pdu.get("origin_server_ts", 0)),
        sender=str(pdu.get("sender")),
        json=canonical_json(pdu).decode("utf-8"),
        prev_event_ids=prev_event_ids(pdu),
        auth_event_ids=auth_event_ids(pdu),
        received_ts=received_ts,
        is_outlier=outlier,
        rejected_reason=rejected,
        is_soft_failed=soft_failed,
        state_before=before,
        state_after=after,
        live=live,
    )


def _to_nids(
    conn: sqlite3.Connection, room_nid: RoomNID, state: Mapping[StateKey, str]
) -> dict[tuple[Any, Any], EventNID]:
    types = get_or_create_type_nids_txn(conn, {t for t, _ in state})
    keys = get_or_create_state_key_nids_txn(conn, {k for _, k in state})
    events = get_or_create_event_nids_txn(conn, room_nid, set(state.values()))
    return {(types[t], keys[k]): events[e] for (t, k), e in state.items()}


def _string_states_txn(
    conn: sqlite3.Connection, snapshots: list[StateSnapshotNID]
) -> list[dict[StateKey, str]]:
    loaded = load_states_txn(conn, snapshots)
    type_nids = {t for s in loaded.values() for t, _ in s}
    key_nids = {k for s in loaded.values() for _, k in s}
    event_nids = {e for s in loaded.values() for e in s.values()}
    types = type_names_txn(conn, type_nids)
    keys = state_keys_txn(conn, key_nids)
    ids = event_ids_txn(conn, event_nids)
    return [
        {(types[t], keys[k]): ids[e] for (t, k), e in loaded[snapshot].items()}
        for snapshot in snapshots
    ]
