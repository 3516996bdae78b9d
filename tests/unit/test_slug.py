from __future__ import annotations

import pytest

from app.slug import slugify


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("RV_OrderDetail", "rv_orderdetail"),
        ("C_BPartner Validate", "c_bpartner-validate"),
        ("1099 Extract", "1099-extract"),
        ("a - b", "a-b"),
        ("a--b", "a-b"),
        (" -Lead- ", "lead"),
        ("Ürün Raporu", "urun-raporu"),
        ("a.b/c", "a-b-c"),
        ("Hello   World!!", "hello-world"),
        ("TranslationImpExp", "translationimpexp"),
        ("Straße", "strasse"),
    ],
)
def test_slugify_matches_the_reference_table(value: str, slug: str) -> None:
    assert slugify(value) == slug


@pytest.mark.parametrize(("value", "slug"), [("x\\y", "x-y"), ("x]y^z", "x-y-z")])
def test_slugify_turns_every_character_outside_the_class_into_a_hyphen(
    value: str, slug: str
) -> None:
    # The original's SQL function keeps \ ] ^ (a character range slip, D6); one
    # function for lookup and output means these can be reached again.
    assert slugify(value) == slug


def test_slugify_drops_letters_without_a_latin_form() -> None:
    assert slugify("a日b") == "a-b"
    assert slugify("日本語テスト") == ""
