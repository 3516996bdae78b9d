"""The one slug function (decision D6), used for stored slugs and URL matching alike."""

from __future__ import annotations

import re
import unicodedata

_OUTSIDE = re.compile(r"[^a-z0-9_]+")
# Letters that Unicode does not decompose into a base letter and an accent, folded
# the way PostgreSQL's unaccent does.
_LIGATURES = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "TH",
    }
)


def slugify(value: str) -> str:
    """Fold accents, lower-case, turn each run of other characters into one ``-``.

    ``"C_BPartner Validate"`` gives ``"c_bpartner-validate"``, ``"Ürün Raporu"``
    gives ``"urun-raporu"``; a value with no Latin letter or digit gives ``""``.
    """
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _OUTSIDE.sub("-", folded.lower()).strip("-")
