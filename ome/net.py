"""Small network helpers shared by every listener (API, providers, publishers)."""
from __future__ import annotations


def listen_hosts(ips: list[str]) -> list[str]:
    """`<Server><IP>` entries as bind addresses: `*` is every IPv4 address, `::` every IPv6
    address, anything else is taken as written (brackets dropped); duplicates once."""
    hosts: list[str] = []
    for ip in ips or ["*"]:
        host = "0.0.0.0" if ip == "*" else ip.strip("[]")
        if host not in hosts:
            hosts.append(host)
    return hosts
