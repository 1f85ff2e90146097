"""Port syntax (reference §7.5)."""
from __future__ import annotations

import pytest

from ome.config import ConfigError, Port, RangedPort, parse_ice_candidate, parse_port, parse_ranged_port
from ome.config.errors import Invalid


@pytest.mark.parametrize("text,port", [
    ("1935", Port(1935, "tcp")), ("1935/tcp", Port(1935, "tcp")), ("1935/UDP", Port(1935, "udp")),
    (" 9999/Srt ", Port(9999, "srt")), ("1", Port(1)), ("65535", Port(65535)),
])
def test_single_port(text, port):
    assert parse_port(text) == port


@pytest.mark.parametrize("text,message", [
    ("0", "Invalid port: 0"), ("65536", "Invalid port: 65536"), ("abc", "Invalid port: abc"),
    ("", "Invalid port: "), ("1935/sctp", "Unknown socket type: sctp"), ("-5", "Invalid port: -5"),
])
def test_single_port_errors(text, message):
    with pytest.raises(Invalid) as info:
        parse_port(text)
    assert info.value.message == message


def test_ranged_port():
    assert parse_ranged_port("4000") == RangedPort([4000], "udp")
    assert parse_ranged_port("4000-4004,4005/udp") == RangedPort(list(range(4000, 4006)), "udp")
    assert parse_ranged_port("10000-10002/TCP").socket_type == "tcp"
    assert parse_ranged_port("5, 3-4,5").ports == [5, 3, 4]
    assert str(parse_ranged_port("4000-4004,4005,4010/udp")) == "4000-4005,4010/udp"
    assert parse_ranged_port("9999").port == 9999


@pytest.mark.parametrize("text,message", [
    ("4005-4000", "Invalid port range"), ("0-10", "Invalid port range"), ("65530-65536", "Invalid port range"),
    ("70000", "Invalid port range"), ("a-b", "Invalid port expression"), ("4000,,4001", "Invalid port expression"),
    ("4000-", "Invalid port expression"), ("x", "Invalid port expression"), ("4000/quic", "Unknown socket type: quic"),
])
def test_ranged_port_errors(text, message):
    with pytest.raises(Invalid) as info:
        parse_ranged_port(text)
    assert info.value.message == message


def test_ice_candidates():
    assert parse_ice_candidate("*:10000-10004/udp") == ("*", RangedPort(list(range(10000, 10005)), "udp"))
    assert parse_ice_candidate(":::10000/udp") == ("::", RangedPort([10000], "udp"))
    assert parse_ice_candidate("${PublicIP}:10000") == ("${PublicIP}", RangedPort([10000], "udp"))
    with pytest.raises(Invalid):
        parse_ice_candidate("10000")


def test_bind_port_errors_from_xml(tmp_path):
    path = tmp_path / "Server.xml"
    path.write_text('<Server version="8"><Type>origin</Type><IP>*</IP><Bind><Providers>\n'
                    "<MPEGTS><Port>4000-3000/udp</Port></MPEGTS></Providers></Bind></Server>")
    with pytest.raises(ConfigError) as info:
        from ome.config import load_server_config
        load_server_config(path)
    assert str(info.value) == f"Invalid port range in {path}:2"
    path.write_text('<Server version="8"><Type>origin</Type><IP>*</IP><Bind><Publishers>\n\n'
                    "<LLHLS><TLSPort>3334/xyz</TLSPort></LLHLS></Publishers></Bind></Server>")
    with pytest.raises(ConfigError) as info:
        load_server_config(path)
    assert str(info.value) == f"Unknown socket type: xyz in {path}:3"
