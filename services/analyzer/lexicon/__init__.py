"""The fallback scorer's rule tables, one module per supported language (data, no logic)."""

from __future__ import annotations

from services.analyzer.lexicon import en, es, fr, id, pt, tl
from services.analyzer.lexicon.model import CUSTOMER_CATEGORIES, PAGE_CATEGORIES, Lexicon

# A fixed order: matching, and so every result, never depends on dict or set iteration.
LEXICONS: tuple[Lexicon, ...] = (en.LEXICON, es.LEXICON, pt.LEXICON, fr.LEXICON, tl.LEXICON, id.LEXICON)

__all__ = ["CUSTOMER_CATEGORIES", "LEXICONS", "PAGE_CATEGORIES", "Lexicon"]
