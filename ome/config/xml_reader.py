"""Server.xml -> source JSON -> ServerConfig (reference §7.1-§7.6).

The reader walks the model classes: every element must be declared
(`Unknown item found: <path>.<Elem>`), `include=` and `ignore=` are applied,
a repeated singular element keeps the first, and the result is the OME JSON
form of the file (strings as written, env macros unexpanded) made of
XDict/XList/XStr nodes that remember file and line. `spec.build` then types it.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterator

from lxml import etree

from .errors import ConfigError
from .spec import ConfigModel, Ctx, FieldSpec, XDict, XList, XStr, build, model_spec, warn
from .macros import expand

SUPPORTED_VERSIONS = (8, 9, 10)
_MAX_INCLUDE_DEPTH = 16

_CHANGELOG = (
    "\n  Server.xml version history:"
    "\n  - 8: <Bind><Managers><API> replaces <Bind><API>; <Managers> added"
    "\n  - 9: <OutputProfiles><HWAccels> replaces <HardwareAcceleration>"
    "\n  - 10: <LLHLS> and <HLS> share <Dumps>, <DVR> and <CacheControl>"
    "\n  Supported versions: 8, 9, 10. See Server.xml.example for the current layout."
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False,
                           huge_tree=False, load_dtd=False)


def parse_file(path: str) -> etree._Element:
    """Parse one XML file; syntax errors name the file and line."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"Could not read the config file: {path} ({exc.strerror})") from None
    try:
        return etree.fromstring(data, _parser(), base_url=path)
    except etree.XMLSyntaxError as exc:
        err = exc.error_log.last_error if exc.error_log else None
        line = (err.line if err is not None else exc.lineno) or 1
        message = (err.message if err is not None else exc.msg) or "syntax error"
        raise ConfigError(f"Could not parse the XML: {message.strip()}", (path, line)) from None


class _Reader:
    def __init__(self) -> None:
        self.depth = 0

    # -- element helpers ---------------------------------------------------
    @staticmethod
    def _loc(el: etree._Element, src: str) -> tuple[str, int]:
        return (src, el.sourceline or 1)

    def children(self, el: etree._Element, src: str) -> Iterator[etree._Element]:
        for child in el:
            if not isinstance(child.tag, str):
                continue            # comments, processing instructions, entities
            if child.get("ignore") == "true":
                warn(self._loc(child, src), f"<{child.tag}> is ignored (ignore=\"true\")")
                continue
            yield child

    @staticmethod
    def text(el: etree._Element) -> str:
        parts = [el.text or ""]
        for child in el:
            if not isinstance(child.tag, str):
                parts.append(child.tail or "")
        return "".join(parts).strip()

    def _include_paths(self, el: etree._Element, src: str) -> tuple[str, list[str]]:
        pattern = expand(el.get("include", ""))
        full = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(src), pattern)
        return full, sorted(p for p in glob.glob(full) if os.path.isfile(p))

    def _load_included(self, el: etree._Element, path: str) -> etree._Element:
        if self.depth >= _MAX_INCLUDE_DEPTH:
            raise ConfigError(f"Too many nested includes: {path}", (path, 1))
        root = parse_file(path)
        if root.tag != el.tag:
            raise ConfigError(f"The root element of an included file must be <{el.tag}>, not <{root.tag}>",
                              (path, root.sourceline or 1))
        return root

    def resolve_single(self, el: etree._Element, src: str) -> tuple[etree._Element, str] | None:
        """Apply `include=` on a singular element: exactly one file must match."""
        if el.get("include") is None:
            return el, src
        full, matches = self._include_paths(el, src)
        if not matches:
            raise ConfigError(f"There is no file to include for path: {full}", self._loc(el, src))
        if len(matches) > 1:
            raise ConfigError(f"Too many files found for an Item: {full}", self._loc(el, src))
        root = self._load_included(el, matches[0])
        if root.get("ignore") == "true":
            warn((matches[0], root.sourceline or 1), f"<{root.tag}> is ignored (ignore=\"true\")")
            return None
        self.depth += 1
        try:
            return self.resolve_single(root, matches[0])
        finally:
            self.depth -= 1

    def resolve_items(self, el: etree._Element, src: str) -> list[tuple[etree._Element, str]]:
        """Apply `include=` on a list item: one entry per matching file, zero is fine."""
        if el.get("include") is None:
            return [(el, src)]
        _, matches = self._include_paths(el, src)
        out: list[tuple[etree._Element, str]] = []
        for path in matches:
            root = self._load_included(el, path)
            if root.get("ignore") == "true":
                warn((path, root.sourceline or 1), f"<{root.tag}> is ignored (ignore=\"true\")")
                continue
            self.depth += 1
            try:
                out.extend(self.resolve_items(root, path))
            finally:
                self.depth -= 1
        return out

    # -- readers -----------------------------------------------------------
    def scalar(self, el: etree._Element, src: str, xpath: str) -> XStr:
        for child in self.children(el, src):
            raise ConfigError(f"Unknown item found: {xpath}.{child.tag}", self._loc(child, src))
        value = XStr(self.text(el))
        value.loc = self._loc(el, src)
        value.base = os.path.dirname(src)
        return value

    def item(self, f: FieldSpec, el: etree._Element, src: str) -> XDict | XStr:
        if f.item_is_model:
            return self.model(f.typ, el, src, f.item)
        return self.scalar(el, src, f.item)

    def items(self, f: FieldSpec, wrapper: etree._Element, src: str, xpath: str) -> XList:
        out = XList()
        out.loc = self._loc(wrapper, src)
        for child in self.children(wrapper, src):
            if child.tag != f.item:
                raise ConfigError(f"Unknown item found: {xpath}.{child.tag}", self._loc(child, src))
            for el, esrc in self.resolve_items(child, src):
                out.append(self.item(f, el, esrc))
        return out

    def model(self, cls: type[ConfigModel], el: etree._Element, src: str, xpath: str) -> XDict:
        spec = model_spec(cls)
        out = XDict()
        out.loc = self._loc(el, src)
        out.base = os.path.dirname(src)
        for child in self.children(el, src):
            f = spec.by_xml.get(child.tag)
            if f is None:
                raise ConfigError(f"Unknown item found: {xpath}.{child.tag}", self._loc(child, src))
            if f.kind == "list" and f.shape == "direct":
                lst = out.get(f.json)
                if lst is None:
                    lst = out[f.json] = XList()
                    lst.loc = self._loc(child, src)
                for item_el, item_src in self.resolve_items(child, src):
                    lst.append(self.item(f, item_el, item_src))
                continue
            if f.json in out:
                continue            # repeated singular element: the first wins
            resolved = self.resolve_single(child, src)
            if resolved is None:
                continue
            cel, csrc = resolved
            cpath = f"{xpath}.{child.tag}"
            if f.kind == "model":
                out[f.json] = self.model(f.typ, cel, csrc, cpath)
            elif f.kind == "scalar":
                out[f.json] = self.scalar(cel, csrc, cpath)
            elif f.shape == "bare":
                out[f.json] = self.items(f, cel, csrc, cpath)
            else:                   # wrapped
                wrapped = XDict()
                wrapped.loc = self._loc(cel, csrc)
                wrapped.base = os.path.dirname(csrc)
                wrapped[f.item_json] = self.items(f, cel, csrc, cpath)
                out[f.json] = wrapped
        return out


def read_element(cls: type[ConfigModel], el: etree._Element, src: str, xpath: str) -> XDict:
    """The source JSON of one element (used for the root and by tests)."""
    return _Reader().model(cls, el, src, xpath)


def _check_version(root: etree._Element, src: str) -> str:
    raw = root.get("version")
    loc = (src, root.sourceline or 1)
    if raw is None or not raw.strip():
        raise ConfigError("Could not obtain version in your XML. Set it on the root element, "
                          "e.g. <Server version=\"8\">", loc)
    text = expand(raw).strip()
    if not text.isdigit() or int(text) not in SUPPORTED_VERSIONS:
        raise ConfigError(f"The version of Server.xml is outdated (Your XML version: {text}){_CHANGELOG}", loc)
    return raw


def load_server_config(path: str | os.PathLike[str]) -> "ServerConfig":  # noqa: F821
    """Load `Server.xml` from a config directory (or the file itself)."""
    from .server import ServerConfig

    p = Path(os.path.abspath(os.fspath(path)))
    file = p / "Server.xml" if p.is_dir() else p
    config_dir = file.parent
    for leftover in ("LastConfig.xml", "LastConfig.json"):
        if (config_dir / leftover).exists():
            raise ConfigError(f"{leftover} found in {config_dir}: remove it to start. API changes are "
                              "kept by <Managers><API><Storage> instead")
    if not file.is_file():
        raise ConfigError(f"Could not find the config file: {file}")
    src = str(file)
    root = parse_file(src)
    if root.tag != "Server":
        raise ConfigError(f"Could not find the root element <Server> (found <{root.tag}>)",
                          (src, root.sourceline or 1))
    version = _check_version(root, src)
    data = read_element(ServerConfig, root, src, "Server")
    attrs = XDict(version=version)
    attrs.loc = data.loc
    data["$"] = attrs
    config = build(ServerConfig, data, "Server", True, Ctx(xml=True))
    config.version = int(expand(version).strip())
    config.config_file = file
    config.config_dir = config_dir
    return config
