"""Customers over time in the synthetic org: who bought when, who churned, and their monthly usage.

Every account that is or was a customer gets a ``Life``, the ground truth its records are drawn from. A
latent health (a standard normal) drives both usage and the odds of not renewing. Each account's health is
drawn given what happened to it (a current customer renewed every contract so far, a former customer every
one but its last), so churners are less healthy on average without health deciding anything alone. Usage
follows health plus account-level and monthly noise; it falls in the months before most churns, and dips
for some customers who renew anyway, so a score computed from usage predicts churn well but not perfectly.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from revloops.core.records import Account, Usage_Snapshot__c
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_parts import Ids, add_months, logistic, month_starts, poisson

FORMER_SHARE = 0.2  # of prospects, which are ~60% of accounts: ~12% of accounts are former customers
CHURN_LOGIT = (-1.2, -1.3)  # log-odds of not renewing a contract = a + b * health
DECLINE_SHARE = 0.7  # of churns, those whose usage falls first (the rest leave on a budget cut or a merger)
SCARE_SHARE = 0.15  # of renewing customers, those whose usage dips for a few months and recovers
NPS_SHARE = 1 / 3  # of months, those in which the account answered the NPS survey
_RAMP = (0.55, 0.75, 0.9)  # seat utilisation in the first months, as a share of the account's level
_TENURE = {"1": 50.0, "2": 30.0, "3": 20.0}  # contracts a former customer signed before it left

Episode = tuple[dt.date, int, float]  # (first month, months, depth)


@dataclass(frozen=True)
class Life:
    """One account's life as a customer: the ground truth behind its fields, deals and usage.

    Attributes:
        terms: the annual contracts signed; the last runs to ``contract_end``.
        seats: seats purchased in each contract, from the first.
        will_churn: the account does not renew at ``contract_end`` (former customers: did not).
        decline: usage falls from this month over so many months, by up to ``depth`` (before a churn).
        scare: usage dips by ``depth`` for so many months, then recovers (the customer renews anyway).
    """

    account_id: str
    since: dt.date
    terms: int
    churned_on: dt.date | None
    health: float
    seats: tuple[int, ...]
    seat_price: float
    will_churn: bool
    decline: Episode | None
    scare: Episode | None

    def term_start(self, k: int) -> dt.date:
        """The day contract ``k`` (0 = the first) starts; ``term_start(terms)`` is the last one's end."""
        return add_months(self.since, 12 * k)

    @property
    def contract_end(self) -> dt.date:
        """The end of the last contract signed (the renewal date, or the churn date)."""
        return self.churned_on or self.term_start(self.terms)

    def arr(self, k: int) -> float:
        """The annual recurring revenue of contract ``k``."""
        return float(round(self.seats[k] * self.seat_price, -2))

    def term_on(self, day: dt.date) -> int:
        """The contract in force on ``day``."""
        return max(0, min(self.terms - 1, sum(self.term_start(k) <= day for k in range(1, self.terms))))


def churn_odds(health: float) -> float:
    """The probability that a customer of this latent health does not renew a contract."""
    return logistic(CHURN_LOGIT[0] + CHURN_LOGIT[1] * health)


def _health(rng: random.Random, renewed: int, churned: bool) -> float:
    """A latent health drawn given that the account renewed ``renewed`` times and then churned (or not yet)."""
    h = 0.0
    for _ in range(1000):  # rejection sampling from the prior: the acceptance is the likelihood
        h = rng.gauss(0, 1)
        p = churn_odds(h)
        if rng.random() < (1 - p) ** renewed * (p if churned else 1.0):
            break
    return h


def _seats(rng: random.Random, employees: int, health: float, terms: int) -> tuple[int, ...]:
    seats = [min(2500, max(3, round(employees * rng.uniform(0.08, 0.25))))]
    for _ in range(1, terms):  # healthy customers add seats at renewal; struggling ones cut some
        if health > 0 and rng.random() < 0.5:
            seats.append(round(seats[-1] * rng.uniform(1.05, 1.3)))
        elif health < -0.5 and rng.random() < 0.3:
            seats.append(max(3, round(seats[-1] * rng.uniform(0.8, 0.95))))
        else:
            seats.append(seats[-1])
    return tuple(seats)


def size_class(employees: int) -> str:
    """The size class of a company by headcount: ``smb``, ``mid_market`` or ``enterprise``."""
    return "smb" if employees < 200 else "mid_market" if employees < 1000 else "enterprise"


def _life(rng: random.Random, acc: Account, as_of: dt.date, former: bool) -> Life:
    if former:
        churned_on: dt.date | None = as_of - dt.timedelta(days=rng.randint(1, 365))
        terms = int(rng.choices(list(_TENURE), weights=list(_TENURE.values()))[0])
        since = add_months(churned_on or as_of, -12 * terms)
    else:
        churned_on, since = None, as_of - dt.timedelta(days=rng.randint(90, 1095))
        terms = next(n for n in range(1, 10) if add_months(since, 12 * n) > as_of)
    health = _health(rng, terms - 1, former)
    will_churn = former or rng.random() < churn_odds(health)
    employees = acc.NumberOfEmployees or 50
    seats = _seats(rng, employees, health, terms)
    price = round(D.SEAT_PRICE[size_class(employees)] * rng.uniform(0.8, 1.0), -1)
    end = churned_on or add_months(since, 12 * terms)
    decline = scare = None
    if will_churn and rng.random() < DECLINE_SHARE:
        months = rng.randint(2, 7)
        decline = (add_months(end.replace(day=1), -months), months, rng.uniform(0.2, 0.5))
    elif rng.random() < SCARE_SHARE:
        starts = month_starts(add_months(since, 3), min(end, as_of))
        if starts:
            scare = (rng.choice(starts), rng.randint(2, 4), rng.uniform(0.15, 0.35))
    return Life(acc.Id or "", since, terms, churned_on, health, seats, price, will_churn, decline, scare)


def customer_lives(rng: random.Random, accounts: Sequence[Account], as_of: dt.date) -> dict[str, Life]:
    """Account Id -> the life of every current customer, and of the prospects that are former customers."""
    out: dict[str, Life] = {}
    for acc in accounts:
        pick = rng.random()  # drawn for every account, so one account's type does not shift the others
        current = (acc.Type or "").startswith("Customer")
        if current or (acc.Type == "Prospect" and pick < FORMER_SHARE):
            out[acc.Id or ""] = _life(rng, acc, as_of, former=not current)
    return out


def new_customer(rng: random.Random, account_id: str, since: dt.date, seats: int, seat_price: float) -> Life:
    """The life of a customer that signed its first contract on ``since`` (a deal won in the seeded history)."""
    health = _health(rng, 0, False)
    return Life(account_id, since, 1, None, health, (seats,), seat_price, rng.random() < churn_odds(health), None, None)


def with_customer_fields(accounts: Iterable[Account], lives: Mapping[str, Life]) -> list[Account]:
    """The accounts with their customer fields: since, contract end, ARR and seats; churn for former ones.

    Health score and band stay empty: Expand computes them.
    """
    out = []
    for acc in accounts:
        life = lives.get(acc.Id or "")
        if life is None:
            out.append(acc)
        elif life.churned_on is not None:
            out.append(acc.model_copy(update={
                "Type": "Former Customer", "Customer_Since__c": life.since, "Contract_End__c": life.churned_on,
                "Churned_On__c": life.churned_on, "ARR__c": 0.0, "Seats_Purchased__c": 0,
            }))
        else:
            out.append(acc.model_copy(update={
                "Customer_Since__c": life.since, "Contract_End__c": life.contract_end,
                "ARR__c": life.arr(life.terms - 1), "Seats_Purchased__c": life.seats[-1],
            }))
    return out


def _months_between(start: dt.date, month: dt.date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def _drop(episode: Episode | None, month: dt.date, *, passing: bool) -> float:
    """How far usage is down in ``month``: a decline deepens and stays; a passing dip ends."""
    if episode is None:
        return 0.0
    start, months, depth = episode
    s = _months_between(start, month)
    if s < 0 or (passing and s >= months):
        return 0.0
    return depth if passing else depth * min(1.0, (s + 1) / months)


def _nps(rng: random.Random, health: float, down: float, seats: int) -> float:
    """The month's NPS (-100..100): promoters (9-10) less detractors (0-6), in % of a few respondents."""
    respondents = rng.randint(1, min(8, 1 + seats // 20))
    answers = [round(7 + 1.3 * health + rng.gauss(0, 1.8) - 4 * down) for _ in range(respondents)]
    return round(100 * (sum(a >= 9 for a in answers) - sum(a <= 6 for a in answers)) / len(answers), 1)


def _snapshots(rng: random.Random, ids: Ids, life: Life, seed: int, as_of: dt.date,
               first: int) -> list[Usage_Snapshot__c]:
    h, out = life.health, list[Usage_Snapshot__c]()
    level = 1.0 + 0.8 * h + rng.gauss(0, 0.45)  # log-odds of a seat being used, this account's own
    sponsor = rng.random() < logistic(0.3 + h)
    wobble, last = 0.0, min(as_of, life.churned_on or as_of)
    for t, month in enumerate(month_starts(life.since, last)):
        wobble = 0.6 * wobble + rng.gauss(0, 0.25)
        drop = _drop(life.decline, month, passing=False)
        scare = _drop(life.scare, month, passing=True)
        ramp = _RAMP[t] if t < len(_RAMP) else 1.0
        util = logistic(level + wobble) * ramp * (1 - drop) * (1 - scare)
        seats = life.seats[life.term_on(min(add_months(month, 1) - dt.timedelta(days=1), last))]  # at month end
        active = min(seats, round(seats * util))
        logins = (6 + 14 * util) * (1 + 0.1 * h) * rng.lognormvariate(0, 0.12) if active else 0.0
        tickets = poisson(rng, (0.4 + 0.25 * seats**0.5) * (1.6 if t < 3 else 1.0) * (1 + drop) * (1.4 - 0.3 * h))
        nps = _nps(rng, h, drop + scare, seats) if rng.random() < NPS_SHARE else None
        if sponsor and rng.random() < 0.02 + 0.3 * drop:  # sponsors leave, more often on the way out
            sponsor = False
        elif not sponsor and rng.random() < 0.03:
            sponsor = True
        out.append(Usage_Snapshot__c(
            Id=ids(), Account__c=life.account_id, Month__c=month, Seats_Purchased__c=seats, Seats_Active__c=active,
            Logins_Per_User__c=round(max(0.0, logins), 1), Support_Tickets__c=tickets,
            NPS__c=nps, Executive_Sponsor__c=sponsor,
            External_Id__c=f"seed{seed}-use-{first + len(out):07d}",
        ))
    return out


def make_usage(rng: random.Random, ids: Ids, lives: Iterable[Life], seed: int,
               as_of: dt.date, first: int = 0) -> list[Usage_Snapshot__c]:
    """A usage snapshot per customer month, from the month a customer signed to ``as_of`` or its churn month.

    NPS (-100..100, from the month's few survey answers) is there in about a third of the months; seats
    active never exceed seats purchased. External ids are numbered from ``first``.
    """
    out: list[Usage_Snapshot__c] = []
    for life in lives:
        out.extend(_snapshots(rng, ids, life, seed, as_of, first + len(out)))
    return out
