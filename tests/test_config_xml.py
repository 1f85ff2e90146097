"""Server.xml reading: macros, include=, ignore=, versions, errors with file:line, the §7.2 rules."""
from __future__ import annotations

import os
import socket

import pytest

from ome.config import ConfigError, Port, load_server_config

BASE = "<Type>origin</Type><IP>*</IP><Bind/>"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def server(tmp_path, inner=BASE, version='version="8"', name="Server.xml"):
    return write(tmp_path / name, f"<Server {version}>\n{inner}\n</Server>\n")


def vhosts(tmp_path, inner):
    return server(tmp_path, BASE + f"<VirtualHosts>{inner}</VirtualHosts>")


def error(path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_server_config(path)
    return info.value


# -- version and files --------------------------------------------------------
@pytest.mark.parametrize("version", ["8", "9", "10"])
def test_supported_versions(tmp_path, version):
    config = load_server_config(server(tmp_path, version=f'version="{version}"'))
    assert config.version == int(version)
    assert config.config_file == tmp_path / "Server.xml" and config.config_dir == tmp_path


def test_missing_version(tmp_path):
    path = server(tmp_path, version="")
    err = error(path)
    assert str(err).startswith("Could not obtain version in your XML")
    assert str(err).endswith(f" in {path}:1")


@pytest.mark.parametrize("version", ["7", "11", "abc"])
def test_outdated_version(tmp_path, version):
    err = error(server(tmp_path, version=f'version="{version}"'))
    assert err.message.startswith(f"The version of Server.xml is outdated (Your XML version: {version})")


def test_directory_or_file(tmp_path):
    server(tmp_path)
    assert load_server_config(tmp_path).config_file == tmp_path / "Server.xml"
    assert load_server_config(str(tmp_path / "Server.xml")).config_file == tmp_path / "Server.xml"


def test_missing_server_xml(tmp_path):
    err = error(tmp_path)
    assert "Server.xml" in str(err)


@pytest.mark.parametrize("leftover", ["LastConfig.xml", "LastConfig.json"])
def test_leftover_last_config_aborts(tmp_path, leftover):
    server(tmp_path)
    (tmp_path / leftover).write_text("{}")
    err = error(tmp_path)
    assert leftover in str(err)


def test_wrong_root_element(tmp_path):
    path = write(tmp_path / "Server.xml", '<?xml version="1.0"?>\n<Config version="8"/>')
    err = error(path)
    assert "<Server>" in err.message and (err.file, err.line) == (str(path), 2)


def test_malformed_xml_names_file_and_line(tmp_path):
    path = write(tmp_path / "Server.xml", '<Server version="8">\n<Type>origin</Type>\n<IP>*</IPX>\n</Server>\n')
    err = error(path)
    assert err.message.startswith("Could not parse the XML:")
    assert (err.file, err.line) == (str(path), 3)
    assert str(err).endswith(f" in {path}:3")


# -- unknown items, required rule, first wins ---------------------------------
def test_unknown_element_names_path_file_and_line(tmp_path):
    path = server(tmp_path, "<Type>origin</Type>\n<IP>*</IP>\n<Bind>\n\n<Foo/>\n</Bind>")
    err = error(path)
    assert str(err) == f"Unknown item found: Server.Bind.Foo in {path}:6"


def test_unknown_element_inside_application_path_starts_at_the_item(tmp_path):
    path = vhosts(tmp_path, "<VirtualHost><Name>v</Name><Applications><Application><Name>a</Name>"
                            "<Type>live</Type><Providers>\n<Foo/></Providers></Application></Applications></VirtualHost>")
    err = error(path)
    assert err.message == "Unknown item found: Application.Providers.Foo" and err.line == 3


def test_unknown_element_under_a_scalar(tmp_path):
    err = error(server(tmp_path, "<Type>origin<X/></Type><IP>*</IP><Bind/>"))
    assert err.message == "Unknown item found: Server.Type.X"


@pytest.mark.parametrize("inner,missing", [
    ("<IP>*</IP><Bind/>", "Server.type"),
    ("<Type>origin</Type><Bind/>", "Server.ip"),
    ("<Type>origin</Type><IP>*</IP>", "Server.bind"),
])
def test_required_server_children(tmp_path, inner, missing):
    path = server(tmp_path, inner)
    err = error(path)
    assert str(err) == f"{missing} is not optional in {path}:1"


def test_required_in_list_items(tmp_path):
    err = error(vhosts(tmp_path, "<VirtualHost><Distribution>x</Distribution></VirtualHost>"))
    assert err.message == "VirtualHost.name is not optional"
    err = error(vhosts(tmp_path, "<VirtualHost><Name>v</Name><Applications><Application><Name>a</Name>"
                                 "</Application></Applications></VirtualHost>"))
    assert err.message == "Application.type is not optional"
    err = error(vhosts(tmp_path, "<VirtualHost><Name>v</Name><Origins><Origin><Location>/a/</Location>"
                                 "<Pass><Urls><Url>h:9000</Url></Urls></Pass></Origin></Origins></VirtualHost>"))
    assert err.message == "Origin.pass.scheme is not optional"
    err = error(vhosts(tmp_path, "<VirtualHost><Name>v</Name><Origins><Origin><Location>/a/</Location>"
                                 "<Pass><Scheme>ovt</Scheme></Pass></Origin></Origins></VirtualHost>"))
    assert err.message == "Origin.pass.urls is not optional"


def test_required_children_of_present_optional_parents_are_not_enforced(tmp_path):
    # Managers.Host, API.AccessToken, Host.Names, TLS.CertPath, SignedPolicy children: accepted when missing.
    path = server(tmp_path, BASE + "<Managers><API><Storage/></API></Managers>"
                  "<VirtualHosts><VirtualHost><Name>v</Name><Host><TLS><ChainCertPath>c.pem</ChainCertPath></TLS></Host>"
                  "<SignedPolicy/><AdmissionWebhooks/><OriginMapStore/></VirtualHost></VirtualHosts>")
    config = load_server_config(path)
    assert config.managers.host is None and config.managers.api.access_token == ""
    vhost = config.virtual_hosts[0]
    assert vhost.host.names == [] and vhost.host.tls.cert_path == ""
    assert vhost.signed_policy.secret_key == "" and vhost.signed_policy.enables is None
    assert vhost.admission_webhooks.timeout == 3000 and vhost.origin_map_store.redis_server is None


def test_repeated_singular_element_first_wins(tmp_path):
    config = load_server_config(server(tmp_path, "<Name>first</Name><Name>second</Name>" + BASE))
    assert config.name == "first"


def test_list_collects_every_item(tmp_path):
    config = load_server_config(server(tmp_path, "<Type>origin</Type><IP>*</IP><IP>::</IP><Bind/>"))
    assert config.ip == ["*", "::"]


def test_absent_section_is_none_present_empty_is_defaults(tmp_path):
    config = load_server_config(server(tmp_path, BASE.replace("<Bind/>", "<Bind><Providers><RTMP/></Providers></Bind>")))
    assert config.bind.providers.rtmp.port == Port(1935, "tcp")
    assert not config.bind.providers.rtmp.is_set("port")
    assert config.bind.providers.srt is None and config.bind.publishers is None
    assert config.managers is None and config.alert is None


def test_comments_and_whitespace_in_values(tmp_path):
    config = load_server_config(server(tmp_path, "<Name>\n  ome <!-- c -->\n</Name>" + BASE))
    assert config.name == "ome"


# -- env macros -----------------------------------------------------------------
def test_env_macros(tmp_path, monkeypatch):
    monkeypatch.setenv("OME_T_NAME", "from-env")
    monkeypatch.setenv("OME_T_EMPTY", "")
    monkeypatch.delenv("OME_T_UNSET", raising=False)
    monkeypatch.delenv("HOSTNAME", raising=False)
    monkeypatch.setenv("OME_T_PORT", "1940")
    path = server(tmp_path, "<Name>${env:OME_T_NAME}-${env:OME_T_UNSET:def:with:colons}-${env:OME_T_EMPTY:x}"
                            "-${env:OME_T_UNSET}-${env:HOSTNAME}</Name>" + BASE.replace(
                                "<Bind/>", "<Bind><Providers><RTMP><Port>${env:OME_T_PORT:1935}</Port></RTMP>"
                                           "</Providers></Bind>"))
    config = load_server_config(path)
    assert config.name == f"from-env-def:with:colons---{socket.gethostname()}"
    assert config.bind.providers.rtmp.port == Port(1940)


def test_ome_macros(tmp_path):
    config = load_server_config(server(tmp_path, "<Name>${ome:CurrentPath}|${ome:Home}|${ome:Other}</Name>" + BASE))
    current, home, other = config.name.split("|")
    assert current == os.getcwd() and os.path.isabs(home) and other == "${ome:Other}"


def test_runtime_macros_stay_text_and_echo_keeps_env_unexpanded(tmp_path, monkeypatch):
    monkeypatch.setenv("OME_T_APP", "live")
    path = vhosts(tmp_path, "<VirtualHost><Name>v</Name><Applications><Application><Name>${env:OME_T_APP}</Name>"
                            "<Type>live</Type><OutputProfiles><OutputProfile><Name>p</Name>"
                            "<OutputStreamName>${OriginStreamName}_${PublicIP}</OutputStreamName>"
                            "</OutputProfile></OutputProfiles></Application></Applications></VirtualHost>")
    app = load_server_config(path).virtual_hosts[0].applications[0]
    assert app.name == "live"
    assert app.output_profiles.output_profile[0].output_stream_name == "${OriginStreamName}_${PublicIP}"
    assert app.source_json["name"] == "${env:OME_T_APP}"


# -- include= -------------------------------------------------------------------
def test_include_singular_exactly_one(tmp_path):
    write(tmp_path / "parts" / "bind.xml", "<Bind>\n<Providers><RTMP><Port>1999</Port></RTMP></Providers></Bind>")
    config = load_server_config(server(tmp_path, '<Type>origin</Type><IP>*</IP><Bind include="parts/b*.xml"/>'))
    assert config.bind.providers.rtmp.port == Port(1999)


def test_include_singular_no_match(tmp_path):
    path = server(tmp_path, '<Type>origin</Type><IP>*</IP>\n<Bind include="nothing*.xml"/>')
    err = error(path)
    assert err.message == f"There is no file to include for path: {tmp_path / 'nothing*.xml'}"
    assert (err.file, err.line) == (str(path), 3)


def test_include_singular_too_many(tmp_path):
    write(tmp_path / "b1.xml", "<Bind/>")
    write(tmp_path / "b2.xml", "<Bind/>")
    err = error(server(tmp_path, '<Type>origin</Type><IP>*</IP><Bind include="b*.xml"/>'))
    assert err.message == f"Too many files found for an Item: {tmp_path / 'b*.xml'}"


def test_include_list_items_zero_one_many(tmp_path):
    path = vhosts(tmp_path, '<VirtualHost include="vh/*.xml"/><VirtualHost><Name>main</Name></VirtualHost>')
    assert [v.name for v in load_server_config(path).virtual_hosts] == ["main"]
    write(tmp_path / "vh" / "a.xml", "<VirtualHost><Name>a</Name></VirtualHost>")
    assert [v.name for v in load_server_config(path).virtual_hosts] == ["a", "main"]
    write(tmp_path / "vh" / "b.xml", "<VirtualHost><Name>b</Name><Applications>"
                                     '<Application include="apps/*.xml"/></Applications></VirtualHost>')
    write(tmp_path / "vh" / "apps" / "x.xml", "<Application><Name>x</Name><Type>live</Type></Application>")
    config = load_server_config(path)
    assert [v.name for v in config.virtual_hosts] == ["a", "b", "main"]
    # The nested include is relative to the file that declares it (vh/), and an included vhost is echoed.
    assert [a.name for a in config.virtual_hosts[1].applications] == ["x"]
    assert config.virtual_hosts[1].source_json == {"name": "b"}


def test_include_root_must_match(tmp_path):
    inc = write(tmp_path / "vh.xml", "<Application><Name>a</Name></Application>")
    err = error(vhosts(tmp_path, '<VirtualHost include="vh.xml"/>'))
    assert "<VirtualHost>" in err.message and err.file == str(inc)


def test_errors_in_included_files_name_that_file(tmp_path):
    inc = write(tmp_path / "vh.xml", "<VirtualHost>\n<Name>a</Name>\n<Bogus/>\n</VirtualHost>")
    err = error(vhosts(tmp_path, '<VirtualHost include="vh.xml"/>'))
    assert str(err) == f"Unknown item found: VirtualHost.Bogus in {inc}:3"
    bad = write(tmp_path / "vh.xml", "<VirtualHost>\n<Name>a</Name>\n")
    err = error(tmp_path)
    assert err.message.startswith("Could not parse the XML") and err.file == str(bad)


def test_relative_paths_resolve_against_the_declaring_file(tmp_path):
    write(tmp_path / "sites" / "vh.xml", "<VirtualHost><Name>a</Name><Host><Names><Name>*</Name></Names><TLS>"
                                         "<CertPath>certs/a.crt</CertPath><KeyPath>/abs/a.key</KeyPath>"
                                         "</TLS></Host></VirtualHost>")
    path = server(tmp_path, BASE + "<Managers><Host><TLS><CertPath>api.crt</CertPath><KeyPath>k/api.key</KeyPath>"
                                   "<ChainCertPath>chain.pem</ChainCertPath></TLS></Host>"
                                   "<API><AccessToken>t</AccessToken><Storage><Path>../data</Path></Storage></API>"
                                   "</Managers><Alert><Url>http://a</Url><SecretKey>s</SecretKey><Timeout>100</Timeout>"
                                   "<RulesFile>rules.xml</RulesFile></Alert>"
                                   '<VirtualHosts><VirtualHost include="sites/*.xml"/></VirtualHosts>')
    config = load_server_config(path)
    tls = config.managers.host.tls
    assert (tls.cert_path, tls.key_path, tls.chain_cert_path) == (
        str(tmp_path / "api.crt"), str(tmp_path / "k" / "api.key"), str(tmp_path / "chain.pem"))
    assert config.managers.api.storage.path == str(tmp_path.parent / "data")
    assert config.alert.rules_file == str(tmp_path / "rules.xml")
    vtls = config.virtual_hosts[0].host.tls
    assert vtls.cert_path == str(tmp_path / "sites" / "certs" / "a.crt") and vtls.key_path == "/abs/a.key"
    # GET shows the path as written.
    assert config.virtual_hosts[0].source_json["host"]["tls"]["certPath"] == "certs/a.crt"


def test_storage_defaults_and_redis(tmp_path, monkeypatch):
    monkeypatch.delenv("OME_T_REDIS", raising=False)
    path = server(tmp_path, BASE + "<Managers><API><AccessToken>t</AccessToken><Storage>"
                                   "<Redis><Url>${env:OME_T_REDIS:}</Url><KeyPrefix>ome:o1</KeyPrefix></Redis>"
                                   "</Storage></API></Managers>")
    storage = load_server_config(path).managers.api.storage
    assert storage.enabled is True and storage.path == str(tmp_path / "api_data")
    assert storage.redis.url == "" and storage.redis.key_prefix == "ome:o1"
    monkeypatch.setenv("OME_T_REDIS", "redis://r:6379/0")
    path = server(tmp_path, BASE + "<Managers><API><Storage><Enabled>false</Enabled><Redis>"
                                   "<Url>${env:OME_T_REDIS:}</Url></Redis></Storage></API></Managers>")
    storage = load_server_config(path).managers.api.storage
    assert storage.enabled is False and storage.redis.url == "redis://r:6379/0" and storage.redis.key_prefix is None


# -- ignore= --------------------------------------------------------------------
def test_ignore_skips_subtree(tmp_path, caplog):
    path = server(tmp_path, '<Name ignore="true">x</Name>' + BASE.replace(
        "<Bind/>", '<Bind><Providers><RTMP ignore="true"><Bogus/></RTMP><SRT ignore="false"/></Providers></Bind>')
        + '<VirtualHosts><VirtualHost ignore="true"/><VirtualHost><Name>v</Name></VirtualHost></VirtualHosts>')
    with caplog.at_level("WARNING", logger="ome.config"):
        config = load_server_config(path)
    assert config.name == "" and config.bind.providers.rtmp is None and config.bind.providers.srt is not None
    assert [v.name for v in config.virtual_hosts] == ["v"]
    assert any("ignore" in r.getMessage() for r in caplog.records)


def test_ignore_does_not_count_for_first_wins(tmp_path):
    config = load_server_config(server(tmp_path, '<Name ignore="true">a</Name><Name>b</Name>' + BASE))
    assert config.name == "b"


# -- scalars --------------------------------------------------------------------
def test_lenient_scalars(tmp_path):
    path = server(tmp_path, "<PrivacyProtection>TRUE</PrivacyProtection>" + BASE.replace(
        "<Bind/>", "<Bind><Providers><RTMP><WorkerCount>garbage</WorkerCount><ThreadPerSocket>2</ThreadPerSocket>"
                   "</RTMP><RTSP><ThreadPerSocket>no</ThreadPerSocket><WorkerCount>12abc</WorkerCount></RTSP>"
                   "</Providers></Bind>"))
    config = load_server_config(path)
    assert config.privacy_protection is True
    rtmp, rtsp = config.bind.providers.rtmp, config.bind.providers.rtsp
    assert rtmp.worker_count == 0 and rtmp.thread_per_socket is True
    assert rtsp.thread_per_socket is False and rtsp.worker_count == 12


def test_invalid_port_names_file_and_line(tmp_path):
    path = server(tmp_path, BASE.replace("<Bind/>", "<Bind><Managers><API>\n<Port>70000</Port></API></Managers></Bind>"))
    err = error(path)
    assert str(err) == f"Invalid port: 70000 in {path}:3"


def test_server_type_validation(tmp_path):
    err = error(server(tmp_path, "<Type>Origin</Type><IP>*</IP><Bind/>"))
    assert err.message == "Unknown type: Origin"


def test_modules(tmp_path):
    path = server(tmp_path, BASE + "<Modules><HTTP2><Enable>false</Enable></HTTP2><DynamicAppRemoval><Enable>true"
                                   "</Enable></DynamicAppRemoval><Recovery><DeleteLazyStreamTimeout>5000"
                                   "</DeleteLazyStreamTimeout></Recovery><ETag/><ERTMP><Enable>1</Enable></ERTMP>"
                                   "</Modules>")
    modules = load_server_config(path).modules
    assert modules.http2.enable is False and modules.llhls.enable is True
    assert modules.dynamic_app_removal.enable is True
    assert modules.recovery.enable is False and modules.recovery.delete_lazy_stream_timeout == 5000
    assert modules.etag.enable is False and modules.ertmp.enable is True


def test_alert_rules(tmp_path):
    path = server(tmp_path, BASE + "<Alert><Url>http://a</Url><SecretKey>s</SecretKey><Timeout>3000</Timeout>"
                                   "<Rules><Ingress><StreamStatus/><MinBitrate>2M</MinBitrate><MaxBitrate>500K"
                                   "</MaxBitrate><MinFramerate>15</MinFramerate><HasBFrames/></Ingress>"
                                   "<Egress><LLHLSReady/></Egress><InternalQueueCongestion/></Rules></Alert>")
    alert = load_server_config(path).alert
    ingress = alert.rules.ingress
    assert ingress.stream_status and ingress.has_b_frames and not ingress.long_key_frame_interval
    assert ingress.min_bitrate == 2 * 1024 * 1024 and ingress.max_bitrate == 500 * 1024
    assert ingress.min_framerate == 15.0 and ingress.max_width is None
    assert alert.rules.egress.llhls_ready and not alert.rules.egress.hls_ready
    assert alert.rules.internal_queue_congestion and alert.timeout == 3000


def test_alert_required_children_enforced_only_when_required_chain(tmp_path):
    # Alert is optional, so its required children are not enforced.
    config = load_server_config(server(tmp_path, BASE + "<Alert/>"))
    assert config.alert.url == "" and config.alert.timeout == 0
