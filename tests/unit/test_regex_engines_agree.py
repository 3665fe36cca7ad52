"""Property: where the batch path hands a ``matches`` pattern to Polars (Rust's regex, over a whole column), it
answers exactly as RE2, the rules' one engine, does on every text; patterns outside that subset stay with RE2."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.core.rules.regex import columnar_pattern, compile_search

# Characters where engines are known to part: case folding (K/KELVIN SIGN, s/LONG S, é/É), non-ASCII digits
# and letters (ASCII vs Unicode \d \w \b), newlines (. and $), and the regex metacharacters themselves.
ALPHABET = list("abcekszABCEKSZ019 _-.@\n\t") + ["\u212a", "\u017f", "é", "É", "٣", "ß", "ǅ", "\u00a0"]
LITERALS = st.sampled_from(["a", "k", "s", "é", "ß", "ceo", "@", r"\.", r"\-", " ", "0", "٣", "\u212a", "x"])
ATOMS = st.one_of(
    LITERALS,
    st.sampled_from([".", r"\d", r"\w", r"\s", r"\b", "[a-z]", "[^@]", r"[\w.-]", "[0-9]", "[é-ë]", r"[\d_]",
                     "[ks]", "[^a-c]", "^", "$"]),
)


@st.composite
def patterns(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            inner = "|".join(draw(st.lists(patterns(depth + 1), min_size=1, max_size=3)))
            atom = f"({inner})" if draw(st.booleans()) else f"(?:{inner})"
        else:
            atom = draw(ATOMS)
        if atom not in ("^", "$", r"\b"):
            atom += draw(st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,3}", "*?"]))
        parts.append(atom)
    return "".join(parts)


texts = st.lists(st.text(alphabet=ALPHABET, max_size=12), min_size=1, max_size=30)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(patterns(), texts)
def test_polars_answers_as_re2_does(pattern: str, values: list[str]) -> None:
    translated = columnar_pattern(pattern)
    if translated is None:
        return
    search = compile_search(pattern)
    expected = [search(v) for v in values]
    got = pl.Series(values, dtype=pl.String).str.contains(translated).to_list()
    assert got == expected, (pattern, translated, [v for v, a, b in zip(values, got, expected, strict=True) if a != b])


def test_the_subset_is_what_we_use_and_the_rest_stays_with_re2() -> None:
    assert columnar_pattern("^(test|asdf|noreply)[^@]*@") is not None
    assert columnar_pattern(r"\b(ceo|chief executive|founder)\b") == "(?i)(?-u:\\b)(ceo|chief executive|founder)(?-u:\\b)"
    for refused in ("^(?!z)(a+)+$", "(?i)x", "[[:alpha:]]", "[a&&b]", "a{,3}", r"[\w-z]", r"\p{L}", r"\x41", "(a"):
        assert columnar_pattern(refused) is None, refused
