"""Elements shared by several sections: CrossDomains, Host/TLS, key-value pairs."""
from __future__ import annotations

from typing import Annotated

from .spec import L, ConfigModel, X


class Header(ConfigModel):
    """`<Header><Key/><Value/></Header>`: a response header (CORS override or custom)."""

    key: Annotated[str, X("Key")] = ""
    value: Annotated[str, X("Value")] = ""


class CrossDomains(ConfigModel):
    """`<CrossDomains>`: `Url*` (JSON `urls[]`) and `Header*` (JSON `headers[]`)."""

    urls: Annotated[list[str], L("Url", "urls")] = []
    headers: Annotated[list[Header], L("Header", "headers")] = []


class Tls(ConfigModel):
    """`<TLS>`: certificate files; relative paths resolve against the declaring file (XML)."""

    cert_path: Annotated[str, X("CertPath", required=True, path=True)] = ""
    key_path: Annotated[str, X("KeyPath", required=True, path=True)] = ""
    chain_cert_path: Annotated[str, X("ChainCertPath", path=True)] = ""


class Host(ConfigModel):
    """`<Host>`: `Names` (bare JSON `names[]`, `*` allowed) and `TLS`."""

    names: Annotated[list[str], L("Name", wrapper="Names", bare=True, required=True)] = []
    tls: Annotated[Tls | None, X("TLS", "tls")] = None


class KeyValue(ConfigModel):
    """`{Key, Value}` pair (SRT `Options/Option`, LL-HLS `DefaultQueryString/Query`)."""

    key: Annotated[str, X("Key")] = ""
    value: Annotated[str, X("Value")] = ""
