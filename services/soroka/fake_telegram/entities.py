"""Telegram's HTML parse mode as the fake server checks it: well-formed tags, known entities, plain length.

Stricter than Telegram in one way: a ``&`` that does not start a supported entity is an error here
(Telegram keeps it literally), so a sender that forgets to escape ``&`` is caught in tests.
"""

from __future__ import annotations

import re

# Tags Telegram accepts in HTML mode (the canonical ones and their aliases).
SUPPORTED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span", "a", "code", "pre",
     "blockquote", "tg-emoji"}
)  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR = re.compile(r"\s*([a-zA-Z-]+)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")


class EntityError(ValueError):
    """The text cannot be parsed in HTML mode; the message is Telegram's wording after 'can't parse entities: '."""


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entity(text: str, i: int) -> tuple[str, int]:
    m = _ENTITY.match(text, i)
    if m is None:
        raise EntityError(f"Unsupported HTML entity at byte offset {_offset(text, i)} (escape '&' as &amp;)")
    dec, hexa, name = m.groups()
    if name is not None:
        if name not in _NAMED:
            raise EntityError(f'Unsupported HTML entity "&{name};" at byte offset {_offset(text, i)}')
        return _NAMED[name], m.end()
    code = int(dec) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityError(f"Invalid character entity at byte offset {_offset(text, i)}")
    return chr(code), m.end()


def _check_attributes(text: str, tag: str, body: str, start: int) -> None:
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            return
        m = _ATTR.match(body, pos)
        if m is None or m.end() == pos:
            raise EntityError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_offset(text, start)}'
            )
        pos = m.end()


def parse_html(text: str) -> str:
    """The plain text Telegram would show for ``text`` in HTML mode; raises EntityError if malformed."""
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, i = _entity(text, i)
            out.append(decoded)
            continue
        if ch == ">":
            out.append(ch)  # Telegram tolerates a bare '>'
            i += 1
            continue
        if ch != "<":
            j = i
            while j < n and text[j] not in "<&>":
                j += 1
            out.append(text[i:j])
            i = j
            continue
        end = text.find(">", i)
        if end < 0:
            kind = "end" if text.startswith("</", i) else "start"
            raise EntityError(f"Unclosed {kind} tag at byte offset {_offset(text, i)}")
        inner = text[i + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {_offset(text, i)}")
            if name != stack[-1]:
                raise EntityError(
                    f'Unmatched end tag at byte offset {_offset(text, i)}, expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
        else:
            m = _TAG_NAME.match(inner)
            name = m.group(0).lower() if m else ""
            if name not in SUPPORTED_TAGS:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {_offset(text, i)}')
            _check_attributes(text, name, inner[len(name) :], i)
            stack.append(name)
        i = end + 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)
