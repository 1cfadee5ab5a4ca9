"""The Chinese font every PDF of the project embeds (fund report, notice, statements,
counter signs, beneficiary cards), so a reader without Chinese fonts sees the text, not
boxes.

The font is Noto Sans SC (SIL Open Font License) from the ``pylopdf-fonts-zh-cn`` package,
or, where that package is missing, Debian's ``fonts-noto-cjk``. Both are OpenType with
PostScript (CFF) outlines, which reportlab cannot embed, so :func:`font_for` cuts the
font down to the characters a document uses (fontTools' subsetter), converts those
glyphs to TrueType outlines and registers the result with reportlab, which embeds it as a
subset again: a one-page PDF carries a few dozen kilobytes of font, not 8 MB. A subset is
kept per character set (a few, least recently used first out), so the same document costs
the conversion once.

When no font file is found at all, the documents fall back to reportlab's built-in CID
font STSong-Light (not embedded), with a warning in the log.
"""

from __future__ import annotations

import hashlib
import io
import logging
import string
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont

log = logging.getLogger(__name__)

FALLBACK = "STSong-Light"
#: Debian's Noto Sans CJK collection, and the index of its Simplified Chinese face
DEBIAN_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DEBIAN_SC_INDEX = 2
#: characters every document may need besides its own text
BASE = frozenset(string.printable.strip() + " ¥￥·—–…“”‘’（）：；，。、！？《》【】")


def font_file() -> tuple[Path, int] | None:
    """The font file to subset and the face within it, or None when there is none."""
    try:
        import pylopdf_fonts_zh_cn  # the font as a package: works on any machine
    except ImportError:
        pass
    else:
        path = Path(pylopdf_fonts_zh_cn.sans_path())
        if path.is_file():
            return path, 0
    if DEBIAN_FONT.is_file():
        return DEBIAN_FONT, DEBIAN_SC_INDEX
    return None


def font_for(*texts: str | Iterable[str]) -> str:
    """The name of a registered font that has every character of ``texts``: a subset of
    Noto Sans SC, embedded in the PDF; STSong-Light if there is no font file."""
    chars: set[str] = set(BASE)
    for text in texts:
        chars.update(text if isinstance(text, str) else "".join(text))
    return _registered(frozenset(c for c in chars if c.isprintable()))


@lru_cache(maxsize=16)
def _registered(chars: frozenset[str]) -> str:
    found = font_file()
    if found is None:
        log.warning("no Chinese font file found: PDFs use %s, not embedded", FALLBACK)
        if FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
        return FALLBACK
    text = "".join(sorted(chars))
    # reportlab keeps one font per PostScript name: each subset gets its own
    name = "NotoSansSC-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    if name not in pdfmetrics.getRegisteredFontNames():
        data = truetype_subset(found[0], found[1], text, name)
        pdfmetrics.registerFont(ReportlabTTFont(name, io.BytesIO(data)))
    return name


def truetype_subset(path: Path, index: int, text: str, name: str) -> bytes:
    """The glyphs of ``text`` from the OpenType font at ``path`` as a TrueType font whose
    PostScript name is ``name``."""
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    buffer = io.BytesIO()
    with TTFont(path, fontNumber=index, lazy=True) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        if "CFF " in font:
            _cff_to_glyf(font)
        names = font["name"]
        names.removeNames(nameID=6)
        names.setName(name, 6, 3, 1, 0x409)
        names.setName(name, 6, 1, 0, 0)
        font.save(buffer)
    return buffer.getvalue()


def _cff_to_glyf(font: TTFont) -> None:
    """Replace the font's PostScript outlines with quadratic TrueType ones (fontTools'
    otf2ttf recipe: cu2qu at one font unit of error)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\000\001\000\000"


def source_text(*files: str | None) -> str:
    """The text of the modules that write a document's labels (their ``__file__``), so
    that every character a label can have is in the subset."""
    return "".join(Path(f).read_text(encoding="utf-8") for f in files if f)
