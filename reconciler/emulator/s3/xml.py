"""S3's XML: documents out (results and errors), and the few bodies S3 takes
in (CompleteMultipartUpload, CreateBucketConfiguration)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Element trees are bounded: S3's own bodies are small, and a hostile one must not
# cost more than this many elements to reject.
MAX_ELEMENTS = 100_000

# A value is text (str, int, bool), a mapping (nested elements), or a list of
# mappings / texts (the element repeated, as S3 repeats <Contents> and <Part>).
Value = Any


def document(root: str, children: Mapping[str, Value] | str, namespace: bool = True) -> bytes:
    """`<root>` holding `children` (or just text), in S3's namespace unless not."""
    element = ElementTree.Element(root, {"xmlns": NAMESPACE} if namespace else {})
    if isinstance(children, str):
        element.text = children
    else:
        _fill(element, children)
    return DECLARATION + bytes(ElementTree.tostring(element, encoding="utf-8"))


def _fill(parent: ElementTree.Element, children: Mapping[str, Value]) -> None:
    for tag, value in children.items():
        for item in value if isinstance(value, list) else [value]:
            child = ElementTree.SubElement(parent, tag)
            if isinstance(item, Mapping):
                _fill(child, item)
            else:
                child.text = _text(item)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse(body: bytes) -> ElementTree.Element | None:
    """The root of an XML body (namespaces dropped from tags); None when it is not
    XML, or declares a DTD (which S3's bodies never need, and entity expansion abuses)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    for count, element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            return None
        element.tag = element.tag.rpartition("}")[2]
    return root
