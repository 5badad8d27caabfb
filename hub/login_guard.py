"""Log-in that cannot be turned against the hub or the advisor.

Three limits stand in front of the password check (argon2id, 64 MiB and tens of milliseconds
each, on purpose):

- **Bounded work.** At most ``workers`` checks run at once (a pool of their own, so a flood never
  starves anything else), and at most ``queue`` more wait for one. A log-in beyond that is
  refused at once with 429 and ``Retry-After``: a flood makes no pile-up, and the advisor's
  attempt waits behind a few checks, never behind hundreds.
- **Per address.** One client address has at most ``per_address`` checks under way (one: with
  two workers, a flood from one address never holds every worker), and its wrong attempts slow
  *that address* down (hub/backoff.py).
- **Per account, per address.** Wrong passwords for one account from one address slow down that
  pair alone: a flood from elsewhere cannot lock the real advisor out of her account.

The wrong attempts are counted where ``failures`` keeps them: in Redis when the hubs share one,
so tries spread over the hubs behind a balancer count as on one hub (hub/backoff_redis.py). The
bounded work (checks at once, in all and per address) is each hub's own: it guards its CPU.

**Made-up names cost nothing.** A name without an account (and no directory to ask) has no
password to check: it is answered "wrong" after as long as a real check has lately taken, so
neither the answer nor its time tells it from a real name, and it takes no worker and no place in
the queue. A flood of made-up names from any number of addresses leaves the checks to the people
who have an account. (What remains visible: while real checks fill the queue, a real name may be
told "busy" where a made-up one is not; finding that out needs a flood of real names already.)

With an office directory (``directory``: hub/sso_ldap.py), a name without a local account is
checked by an LDAP bind instead of argon2, in the same pool, behind the same limits.

Example::

    >>> import asyncio
    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> users = UserStore(open_database(":memory:"), FakeClock())
    >>> users.add_user("anna", "correct horse battery")
    >>> guard = LoginGuard(users, FakeClock())
    >>> asyncio.run(guard.check("anna", "correct horse battery", "192.0.2.1"))
    'anna'
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from videokiosk.clock import Clock

from .backoff import Backoff, Failures, MemoryFailures
from .errors import LoginError
from .users import UserStore

BUSY_RETRY_S = 1.0  # what a refused log-in is told to wait when the checks are all taken
# How fast the "typical check" follows the real ones: recent checks weigh most, one odd one little.
TYPICAL_WEIGHT = 0.2
ACCOUNT_WAIT_S = 30.0  # the first wait of an account at one address after its free failures


class Directory(Protocol):
    """Where passwords of accounts without a local one are checked (an LDAP directory)."""

    def handles(self, stored_hash: str | None) -> bool: ...

    def authenticate(self, username: str, password: str) -> Any | None: ...  # blocking; None: wrong

    def admit(self, account: Any) -> str: ...  # on the loop; raises SsoError (no role, conflict)


class LoginGuard:
    def __init__(self, users: UserStore, clock: Clock, *, workers: int = 2, queue: int = 8,
                 per_address: int = 1, max_failures: int = 5, address_failures: int = 20,
                 max_wait_s: float = 300.0, directory: Directory | None = None,
                 failures: Failures | None = None) -> None:
        """``failures``: where wrong passwords are counted (shared by every hub: hub/backoff.py)."""
        self._users = users
        self._directory = directory
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="login")
        self._capacity = workers + queue
        self._per_address = per_address
        self._under_way = 0
        self._by_address: Counter[str] = Counter()
        # An office behind one NAT shares an address: it may get many more wrong passwords than
        # one person at one account before it is slowed down.
        failures = failures or MemoryFailures(clock)
        self._address = Backoff(failures, "login-address", free=address_failures, base_s=1.0, max_s=max_wait_s)
        # One person mistyping a password five times waits half a minute, then twice as long...
        self._account = Backoff(failures, "login-account", free=max_failures, base_s=min(ACCOUNT_WAIT_S, max_wait_s),
                                max_s=max_wait_s)
        self._typical_s: float | None = None  # how long a real password check takes on this machine
        # Measured once at start (a check against the dummy hash), so that a flood arriving with the
        # hub's first seconds already finds the made-up names answered without work.
        self._pool.submit(self._timed_verify, None, "calibration only")

    async def check(self, username: str, password: str, client: str) -> str:
        """The user name if the password is right; :class:`LoginError` otherwise (``retry_after_s``
        set when the caller must wait: too many wrong attempts, or the hub is busy)."""
        pair = f"{client}\n{username}"
        wait = max(self._address.wait_s(client), self._account.wait_s(pair))
        if wait > 0:
            raise LoginError("locked", locked_for_s=math.ceil(wait))
        stored = self._users.password_hash(username)
        directory = self._directory if self._directory is not None and self._directory.handles(stored) else None
        made_up = stored is None and directory is None and self._typical_s is not None
        if self._by_address[client] >= self._per_address or (not made_up and self._under_way >= self._capacity):
            raise LoginError("busy", locked_for_s=BUSY_RETRY_S)
        # Counted before the check: parallel guesses must not all pass the wait above first.
        self._address.failed(client)
        self._account.failed(pair)
        self._by_address[client] += 1
        if not made_up:  # a made-up name takes no place among the checks
            self._under_way += 1
        try:
            loop = asyncio.get_running_loop()
            if made_up:
                await asyncio.sleep(self._typical_s * random.uniform(0.85, 1.15))
                ok = False
            elif directory is not None:
                account = await loop.run_in_executor(self._pool, directory.authenticate, username, password)
                ok = account is not None
            else:
                ok = await loop.run_in_executor(self._pool, self._timed_verify, stored, password)
        except Exception:  # the directory or the database failed: not checked, so not a wrong attempt
            self._address.forgive(client)
            self._account.forgive(pair)
            raise
        finally:
            if not made_up:
                self._under_way -= 1
            self._by_address[client] -= 1
            if self._by_address[client] <= 0:
                del self._by_address[client]
        if not ok:
            wait = self._account.wait_s(pair)
            if wait > 0:
                raise LoginError("locked", locked_for_s=math.ceil(wait))
            raise LoginError("wrong")
        self._address.forgive(client)
        self._account.succeeded(pair)
        return directory.admit(account) if directory is not None else username

    def _timed_verify(self, stored: str | None, password: str) -> bool:
        """The argon2 check, timed on its worker (the queue's wait is not the check's time)."""
        started = time.perf_counter()
        try:
            return self._users.verify(stored, password)
        finally:
            took = time.perf_counter() - started
            typical = self._typical_s
            self._typical_s = took if typical is None else typical + TYPICAL_WEIGHT * (took - typical)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
