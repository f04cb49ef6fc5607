"""Find article files, read them safely, and turn each into an `Article`.

listing (which files) -> reading (bytes, within limits) -> decoding (text) ->
formats (txt, md, html, json; chrome strips page furniture) -> article (checks, id).
"""

from digest.intake.files.listing import ARTICLE_SUFFIXES, file_info, list_files, seeds_root
from digest.intake.files.reading import parse_article, read_article

__all__ = [
    "ARTICLE_SUFFIXES",
    "file_info",
    "list_files",
    "parse_article",
    "read_article",
    "seeds_root",
]
