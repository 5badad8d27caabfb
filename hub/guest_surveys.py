"""A home participant's survey: one answer per call, and nothing in the database says whose.

The hub has to refuse a second answer for the same call (one link must not fill in the survey a
hundred times), so it needs to know, for a while, which calls of a participant still have their
survey open. Kept as a row beside the call (``guest_pass_calls.surveyed`` until migration 0006),
that flag said for 14 days which named participant had answered, and the answers of a week with
one or two home calls could be joined to them (videokiosk/surveypool.py: never by any join, log
line or count). So the allowance lives in the hubs' shared state (memory, or Redis for several
hubs), never on disk: granted when the call is first linked to the participant's pass, spent by
the answer (and kept so, or a socket linking the call again would get a new one), and gone
:data:`SURVEY_WINDOW` after the call began or with a hub restart (then the survey is refused: the
price of the promise, as for a remainder below five answers).

Example::

    >>> import asyncio
    >>> from hub.state import InMemoryState
    >>> from videokiosk.clock import FakeClock
    >>> surveys = SurveyAllowances(InMemoryState(), FakeClock())
    >>> async def twice():
    ...     await surveys.grant("p-1", "c-1234")
    ...     return [await surveys.take("p-1"), await surveys.take("p-1")]
    >>> asyncio.run(twice())
    [True, False]
"""

from __future__ import annotations

from datetime import timedelta

from videokiosk.clock import Clock

from .state import SharedState

# How long after the call began its survey may be answered (the survey screen follows the call).
SURVEY_WINDOW = timedelta(days=1)
TABLE = "guest_surveys"  # shared table: "<participant_id> <call_id>" -> "[spent ]<until, ISO time>"
SPENT = "spent "  # answered: kept till the window ends, so a socket that links the call again gets no new one


class SurveyAllowances:
    def __init__(self, state: SharedState, clock: Clock) -> None:
        self._state = state
        self._clock = clock

    async def grant(self, participant_id: str, call_id: str) -> None:
        """``participant_id`` took part in ``call_id``: one survey answer for it (once, however
        often the call is linked again)."""
        await self._forget_expired()
        until = (self._clock.now() + SURVEY_WINDOW).isoformat()
        await self._state.put_record(TABLE, f"{participant_id} {call_id}", until, only_new=True)

    async def take(self, participant_id: str) -> bool:
        """Whether ``participant_id`` may answer the survey now; if so, that call's answer is spent.
        Of several hubs racing for one allowance, one gets it."""
        now = self._clock.now().isoformat()
        for key, until in (await self._state.records(TABLE)).items():
            if key.startswith(f"{participant_id} ") and until > now and not until.startswith(SPENT):
                if await self._state.take_record(TABLE, key):
                    await self._state.put_record(TABLE, key, SPENT + until)
                    return True
        return False

    async def _forget_expired(self) -> None:
        # Swept on each grant: allowances, answered or not, do not pile up in memory or Redis.
        now = self._clock.now().isoformat()
        for key, value in (await self._state.records(TABLE)).items():
            if value.removeprefix(SPENT) <= now:
                await self._state.take_record(TABLE, key)
