"""The bibliography names every author of every work: no entry ends its list in "others"."""

import re
from pathlib import Path

BIB = Path(__file__).resolve().parents[2] / "book" / "references.bib"


def test_every_entry_lists_its_authors_in_full():
    entries = re.findall(r"@\w+\{([^,]+),(.*?)\n\}", BIB.read_text(), re.DOTALL)
    assert entries, f"no entries found in {BIB}"
    cut_short = [key for key, body in entries
                 if re.search(r"author\s*=\s*\{[^}]*\band others\b", body)]
    assert not cut_short, f"author lists ending in 'and others': {cut_short}"
