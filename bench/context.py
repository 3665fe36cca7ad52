"""Context building speed and matching quality on a synthetic org.

Figures: geo normalisation per call (cached hit and cold miss), domain and name matching per lead,
a brute-force name scan as the baseline for the blocked name search, seed generation per record, and
lead-to-account precision/recall against the generator's ground truth.

Run: python bench/context.py [--quick]
"""

from __future__ import annotations

import argparse
import time

from rapidfuzz import fuzz, process

from revloops.core.domains import normalise_company
from revloops.core.geo import fold, normalise_geo
from revloops.core.matching import AccountIndex
from revloops.loops.generate.seed import generate_org


def _per_call(fn, items, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            fn(*item)
    return (time.perf_counter() - start) / (len(items) * repeat) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    accounts, leads = (2_000, 5_000) if args.quick else (20_000, 50_000)

    start = time.perf_counter()
    org = generate_org(users=60, accounts=accounts, leads=leads, seed=42)
    n_records = sum(len(r) for _, r in org.batches())
    gen_us = (time.perf_counter() - start) / n_records * 1e6
    print(f"seed: {n_records} records in {time.perf_counter() - start:.2f} s ({gen_us:.1f} us/record)")

    geo_in = [(le.Country, le.State, le.PostalCode, le.City) for le in org.leads]
    normalise_geo.cache_clear()
    fold.cache_clear()
    cold = _per_call(normalise_geo, geo_in)
    hot = _per_call(normalise_geo, geo_in, repeat=3)
    print(f"geo: {cold:.2f} us/call first pass (distinct inputs {normalise_geo.cache_info().currsize}), "
          f"{hot:.2f} us/call cached")

    start = time.perf_counter()
    index = AccountIndex(org.accounts)
    print(f"index: {len(index)} accounts built in {(time.perf_counter() - start) * 1e3:.0f} ms")
    triples = [(le.Email, le.Website, le.Company) for le in org.leads]
    dom_us = _per_call(lambda e, w, c: index.match(e, w, c), triples)
    name_us = _per_call(lambda e, w, c: index.match(e, w, c, mode="domain_then_name"), triples)
    print(f"match: {dom_us:.1f} us/lead domain only, {name_us:.1f} us/lead domain then name")

    names = {i: normalise_company(a.Name) for i, a in enumerate(org.accounts)}
    sample = [le.Company for le in org.leads[:300]]
    blocked = _per_call(lambda c: index.match_name(c), [(c,) for c in sample])
    brute = _per_call(lambda c: process.extractOne(normalise_company(c), names, scorer=fuzz.token_sort_ratio,
                                                   score_cutoff=90), [(c,) for c in sample])
    print(f"name search: blocked {blocked:.0f} us/lookup vs brute force {brute:.0f} us/lookup "
          f"(ratio {brute / blocked:.1f}x)")

    truth = org.lead_accounts
    for mode in ("domain", "domain_then_name"):
        found = right = 0
        for le in org.leads:
            m = index.match(le.Email, le.Website, le.Company, mode=mode)  # type: ignore[arg-type]
            if m is not None:
                found += 1
                right += truth.get(str(le.Id)) == m.account_id
        print(f"quality {mode}: precision {right / max(found, 1):.3f}, recall {right / len(truth):.3f} "
              f"({found} matched, {len(truth)} drawn from accounts)")


if __name__ == "__main__":
    main()
