"""The example org's news corpus: dated, labelled news items about the outbound targets, which the offline
signal scanner reads instead of the web.

``python -m revloops.loops.generate.news_corpus --out examples/acme/signals/news.jsonl`` rewrites the shipped
file byte for byte: the items are drawn from ``random.Random(seed)`` over the targets of ``targets.yaml``, and
dated back from ``TODAY`` (the seed's ``AS_OF``), never from the clock.

One JSON object a line: ``id``, ``domain`` (the target's), ``published`` (YYYY-MM-DD), ``outlet``, ``url``,
``title``, ``text`` (2-5 sentences) and ``label``, the ground truth the scanner never reads:
``type`` (a signal type id, or null), ``event`` (shared by the items reporting one event) and ``kind``:

- ``relevant``: a signal in the lookback window; ``duplicate``: the same event from another outlet;
- ``stale``: a signal older than the lookback; ``irrelevant``: news that is no buying signal;
- ``misleading``: written to mislead, with ``trap`` saying how: ``denied`` (a rumour the text denies),
  ``other_company`` (a company of a similar name, or another company's domain), ``injection`` (instructions
  to whoever reads it), ``competitor`` (a competitor's news).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revloops.config.yamlfile import load_yaml
from revloops.loops.generate import news_text as T
from revloops.loops.generate.config import Target, TargetsFile

TODAY = dt.date(2025, 1, 15)  # the corpus's "today": the seed's AS_OF, so the corpus never depends on the clock
SEED = 14
LOOKBACK_DAYS = 120  # the example's scan.lookback_days: relevant news is newer, stale news older (with a margin)
EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "acme"
TRAPS = ("denied", "other_company", "injection", "competitor")


class _Draw:
    """The corpus under construction: items and the next ids."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.items: list[dict[str, Any]] = []
        self.events = 0
        self.urls: set[str] = set()

    def facts(self, target: Target) -> dict[str, str]:
        """Fresh facts for one event at ``target``, over what stays true of the company."""
        return _facts(self.rng, target, _company(self.seed, target))

    def event(self) -> str:
        self.events += 1
        return f"ev{self.events:04d}"

    def add(self, target: Target, published: dt.date, outlet: tuple[str, str], title: str, sentences: list[str],
            label: dict[str, Any]) -> None:
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:70]
        url = f"https://{outlet[1]}/{published:%Y/%m}/{slug}"
        while url in self.urls:
            url += "-2"
        self.urls.add(url)
        self.items.append({"domain": target.domain, "published": published.isoformat(), "outlet": outlet[0],
                           "url": url, "title": title, "text": " ".join(sentences), "label": label})


def _company(seed: int, target: Target) -> dict[str, str]:
    """What stays true of a company from item to item: where it is, when it was founded, its size."""
    rng = random.Random(f"{seed}/{target.domain}")  # its own stream: the same company reads alike everywhere
    home = T.HOMES.get(target.territory or "") or rng.choice(list(T.HOMES.values()))
    return {"home": home[0], "city": rng.choice(home[1]), "year": str(rng.randint(2008, 2019)),
            "emp": str(rng.choice((180, 240, 400, 650, 900, 1400, 2200)))}


def _facts(rng: random.Random, target: Target, company: dict[str, str]) -> dict[str, str]:
    """The values templates are filled with, drawn once per event (every outlet reports the same facts)."""
    away = rng.choice([h for h in T.HOMES.values() if h[0] != company["home"]])
    first, last = rng.choice(T.FIRST_NAMES), rng.choice(T.LAST_NAMES)
    return {
        **company, "name": target.name, "domain": target.domain, "country2": away[0],
        "city2": rng.choice(away[1]), "amount": str(rng.choice((8, 12, 15, 20, 25, 30, 40, 45, 60, 75, 110, 150))),
        "series": rng.choice("ABBCCDE"), "investor": rng.choice(T.INVESTORS), "person": f"{first} {last}",
        "person2": f"{rng.choice(T.FIRST_NAMES)} {rng.choice(T.LAST_NAMES)}", "role": rng.choice(T.ROLES),
        "role2": rng.choice(T.SPEAKER_ROLES), "product": rng.choice(T.PRODUCTS), "partner": rng.choice(T.COMPANIES),
        "acquired": rng.choice(T.COMPANIES), "competitor": rng.choice(T.COMPETITORS), "old": rng.choice(T.OLD_TOOLS),
        "platform": rng.choice(T.PLATFORMS), "n": str(rng.choice((40, 60, 80, 120, 150, 200, 250, 300))),
        "pct": str(rng.choice((6, 8, 10, 12, 15, 20))), "award": rng.choice(T.AWARDS),
        "customers": str(rng.choice((500, 800, 1200, 2000, 5000))), "weekday": rng.choice(T.WEEKDAYS),
        "purpose": rng.choice(T.PURPOSES), "region": rng.choice(T.REGIONS), "quote": rng.choice(T.QUOTES),
        "desc": rng.choice(T.PRODUCT_DESCRIPTIONS), "desc2": rng.choice(T.ACQUIRED_DESCRIPTIONS),
        "club": rng.choice(T.CLUBS), "cause": rng.choice(T.CAUSES), "k": str(rng.randint(12, 90)),
        "other": _similar_name(rng, target), "other_domain": _other_domain(rng, target),
    }


def _similar_name(rng: random.Random, target: Target) -> str:
    head, _, tail = target.name.partition(" ")
    return f"{head} {rng.choice([t for t in T.OTHER_TAILS if t != tail])}"


def _other_domain(rng: random.Random, target: Target) -> str:
    stem = target.domain.removesuffix(".example")
    return f"{stem}-{rng.choice(T.OTHER_DOMAIN_SUFFIXES)}.example"


def _sentences(rng: random.Random, lead: str, facts: dict[str, str], extra: Sequence[str] = ()) -> list[str]:
    """The lead sentence, the type's own follow-ups, then neutral fillers: 2-5 sentences in all."""
    out = [lead.format(**facts), *(s.format(**facts) for s in extra)]
    fillers = rng.sample(T.FILLERS, k=rng.randint(1, 3))
    out += [f.format(**facts) for f in fillers]
    return out[:5]


def _report(draw: _Draw, target: Target, type_id: str, published: dt.date, kind: str, event: str,
            variant: int, facts: dict[str, str]) -> None:
    """One outlet's report of an event: the title and lead of the type's ``variant``, fillers after."""
    rng = draw.rng
    spec = T.SIGNALS[type_id]
    title = spec["titles"][variant].format(**facts)
    extra = [rng.choice(spec["follow"])] if spec.get("follow") and rng.random() < 0.5 else []
    outlet = rng.choice(T.OUTLETS) if rng.random() < 0.85 else ("Company newsroom", f"news.{target.domain}")
    draw.add(target, published, outlet, title, _sentences(rng, spec["leads"][variant], facts, extra),
             {"type": type_id, "event": event, "kind": kind})


def _same_event(type_id: str, variant: int) -> list[int]:
    """The other wordings of the event ``variant`` tells (its group in ``news_text.SAME_EVENT``)."""
    groups = T.SAME_EVENT.get(type_id) or [list(range(len(T.SIGNALS[type_id]["titles"])))]
    group = next(g for g in groups if variant in g)
    return [v for v in group if v != variant]


def _events(draw: _Draw, target: Target) -> None:
    """Two or three events in the window, some reported twice (or three times), and perhaps a stale one."""
    rng = draw.rng
    for _ in range(rng.randint(2, 3)):
        type_id = rng.choice(list(T.SIGNALS))
        facts, event = draw.facts(target), draw.event()
        published = TODAY - dt.timedelta(days=rng.randint(3, LOOKBACK_DAYS - 8))
        first = rng.randrange(len(T.SIGNALS[type_id]["titles"]))
        _report(draw, target, type_id, published, "relevant", event, first, facts)
        others = _same_event(type_id, first)
        copies = 2 if rng.random() < 0.05 else 1 if rng.random() < 0.36 else 0
        for variant in rng.sample(others, k=min(copies, len(others))):  # another outlet, other words, days later
            later = min(TODAY, published + dt.timedelta(days=rng.randint(0, 3)))
            _report(draw, target, type_id, later, "duplicate", event, variant, facts)
    if rng.random() < 0.6:
        type_id = rng.choice(list(T.SIGNALS))
        old = TODAY - dt.timedelta(days=rng.randint(LOOKBACK_DAYS + 10, 420))
        variant = rng.randrange(len(T.SIGNALS[type_id]["titles"]))
        _report(draw, target, type_id, old, "stale", draw.event(), variant, draw.facts(target))


def _plain_item(draw: _Draw, target: Target, kind: str, spec: tuple[str, Sequence[str]], facts: dict[str, str],
                trap: str | None = None) -> None:
    rng = draw.rng
    title, lines = spec
    published = TODAY - dt.timedelta(days=rng.randint(2, LOOKBACK_DAYS - 8))
    sentences = [s.format(**facts) for s in lines]
    if len(sentences) < 4 and trap != "other_company" and rng.random() < 0.5:  # fillers name the target
        sentences.append(rng.choice(T.FILLERS).format(**facts))
    label: dict[str, Any] = {"type": None, "event": draw.event(), "kind": kind}
    if trap:
        label["trap"] = trap
    outlet = ("Company newsroom", f"news.{target.domain}") if trap == "injection" and rng.random() < 0.5 \
        else rng.choice(T.OUTLETS + T.RUMOR_OUTLETS if trap == "denied" else T.OUTLETS)
    draw.add(target, published, outlet, title.format(**facts), sentences, label)


def _trap(draw: _Draw, target: Target, trap: str, n: int) -> None:
    facts = draw.facts(target)
    if trap == "other_company":  # a similar name (when the target's has two words), or another domain
        pool, n = (T.OTHER_NAME if " " in target.name and n % 2 == 0 else T.OTHER_DOMAIN), n // 2
    else:
        pool = {"denied": T.DENIED, "injection": T.INJECTION, "competitor": T.COMPETITOR}[trap]
    _plain_item(draw, target, "misleading", pool[n % len(pool)], facts, trap)


def generate(targets: Sequence[Target], seed: int = SEED) -> list[dict[str, Any]]:
    """The corpus over ``targets``: ids in order of publication (then domain, then url)."""
    draw = _Draw(seed)
    for target in targets:
        _events(draw, target)
        if draw.rng.random() < 0.5:
            _plain_item(draw, target, "irrelevant", draw.rng.choice(T.IRRELEVANT), draw.facts(target))
    trapped = draw.rng.sample(list(targets), k=min(len(targets), 44))
    for n, target in enumerate(trapped):
        _trap(draw, target, TRAPS[n % len(TRAPS)], n // len(TRAPS))
    items = sorted(draw.items, key=lambda i: (i["published"], i["domain"], i["url"]))
    return [{"id": f"news-{k:04d}", **item} for k, item in enumerate(items, start=1)]


def render(items: Sequence[dict[str, Any]]) -> str:
    """The corpus as JSON lines (one item a line, keys in schema order)."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def read(path: Path) -> list[dict[str, Any]]:
    """A corpus file's items, labels included (for measuring a scanner against them)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_type(item: dict[str, Any]) -> str | None:
    """What a scan on ``TODAY`` should make of an item: its type when it is relevant (or another outlet's report
    of a relevant event), else no signal (stale, irrelevant, misleading)."""
    label = item["label"]
    return label["type"] if label["kind"] in ("relevant", "duplicate") else None


def load_targets(path: Path) -> list[Target]:
    """The targets of a ``targets.yaml`` (validated on its own; cross-file checks are the loader's)."""
    doc = load_yaml(path, str(path))
    return list(TargetsFile.model_validate(doc.data).targets)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the corpus: ``--out`` (default: the example's), ``--targets``, ``--seed``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=EXAMPLE / "signals" / "news.jsonl")
    parser.add_argument("--targets", type=Path, default=EXAMPLE / "config" / "generate" / "targets.yaml")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    items = generate(load_targets(args.targets), args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(items), encoding="utf-8")
    print(f"wrote {len(items)} items to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
