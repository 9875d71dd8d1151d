"""The fast paths of the search synonyms (hyoka/search.py) against their straightforward versions."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka import search

# Characters NFKC changes, or that change their neighbours: 全角 ASCII and space, 半角カナ with
# (semi-)voiced marks, combining marks after full-width letters, circled digits, ligatures.
_ODD_CHARS = ("ＡＺａｚ０９（）［］＜＞＆＂＇　ｶﾞﾊﾟｳﾞﾞﾟ\u3099\u309a\u0301\u0308①㈱ﬁ㍻Ⅻ"
              "スマホスマートフォンaiAIＡＩ人工知能<>&\"' \n\t。、")
odd_text = st.text(alphabet=st.sampled_from(_ODD_CHARS), max_size=40)


@pytest.mark.parametrize("text", ["", "スマホ", "（案）ＡＩ", "Ａ\u0301", "ｶﾞｲﾄﾞ", "ｳﾞ", "（\u3099）", "①②",
                                  "<script>alert('x')</script> & \"q\"", "\u3000全角\u3000", "ﬁle"])
def test_nfkc_is_normalize(text: str) -> None:
    assert search._nfkc(text) == unicodedata.normalize("NFKC", text)


@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(odd_text, st.text(max_size=40)))
def test_nfkc_is_normalize_for_any_text(text: str) -> None:
    assert search._nfkc(text) == unicodedata.normalize("NFKC", text)


def _reference_terms(text: str, groups, most: int = 10) -> list[str]:  # type: ignore[no-untyped-def]
    """synonym_terms as first written: every spelling counted with a regex or str.count."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()
    found: list[str] = []
    for group in groups:
        spellings = list(dict.fromkeys(w for w in (search.normalize(s) for s in group) if w))
        counts = [len(re.findall(rf"(?<![a-z0-9]){re.escape(s)}(?![a-z0-9])", text)) if s.isascii()
                  else text.count(s) for s in spellings]
        total = min(most, sum(counts))
        for spelling, count in zip(spellings, counts, strict=True):
            found += [spelling] * max(0, total - count)
    return found


GROUPS = (("スマホ", "スマートフォン", "スマートホン"), ("AI", "人工知能"), ("HP", "ホームページ"),
          ("<b>", "&amp;"), ("コンピュータ", "コンピューター"))


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.one_of(odd_text, st.sampled_from(["スマホ", "ai", "mail", "hp", "ＨＰ", "<b>", "&amp;",
                                                             "コンピューター", "人工知能", "AI活用"])),
                      max_size=12))
def test_synonym_terms_as_the_straightforward_count(parts: list[str]) -> None:
    text = "".join(parts)
    assert search.synonym_terms(text, GROUPS) == _reference_terms(text, GROUPS)
    assert search.synonym_terms(text, [list(g) for g in GROUPS], most=3) == _reference_terms(text, GROUPS, 3)
    assert search.synonym_terms(text, ()) == []


def _reference_normalize(text: str) -> str:
    """search.normalize as first written."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(odd_text, st.text(max_size=40),
                      st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2000\u2028\u3000ab"),
                              max_size=20)))
def test_normalize_as_the_regex(text: str) -> None:
    assert search.normalize(text) == _reference_normalize(text)


# Spellings that overlap in every way (one a prefix, a suffix or inside another, or sharing a part),
# Latin ones among letters and digits, so that the finder hides some occurrences behind others.
_WORDS = ("ab", "abc", "bc", "b", "cab", "ai", "aix", "i", "x1", "データ", "データベース", "ベース", "タベ", "スマホ")
overlap_text = st.text(alphabet=st.sampled_from("abcix1 デタベースマホー。"), max_size=40)
word_groups = st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4), max_size=5)


@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(overlap_text, st.lists(st.sampled_from((*_WORDS, " ", "z", "9"))).map("".join)),
       groups=word_groups, most=st.integers(-1, 4))
def test_synonym_terms_with_overlapping_spellings(text: str, groups, most: int) -> None:  # type: ignore[no-untyped-def]
    """Only groups the finder may have seen are counted: the same terms as counting every group."""
    expected = _reference_terms(text, groups, most)
    assert search.synonym_terms(text, groups, most) == expected
    frozen = tuple(tuple(g) for g in groups)
    assert search.synonym_terms(text, frozen, most) == expected
    assert search.synonym_terms(text, frozen, most) == expected  # remembered by the tuple's identity


@settings(max_examples=300, deadline=None)
@given(word=st.text(alphabet=st.sampled_from("ai1.+*?(\\"), min_size=1, max_size=4),
       text=st.text(alphabet=st.sampled_from("ai1.+*?(\\ zあ"), max_size=30))
def test_whole_word_pattern_as_the_look_behind_first(word: str, text: str) -> None:
    w = re.escape(word)
    assert (search._whole_word(word).findall(text)
            == re.findall(rf"(?<![a-z0-9]){w}(?![a-z0-9])", text))
