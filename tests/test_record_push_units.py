"""Record/push helpers without peers: path macros, OME's cron form, RTMP URL split, track
selection, the push queue bound and the info XML (the end-to-end proof is test_record_push.py)."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from ome.media import MediaKind, Packet, Track
from ome.publishers.muxers import FLV_CODECS, TS_CODECS, select_tracks
from ome.publishers.push import PushQueue
from ome.publishers.push_rtmp import split_url
from ome.publishers.record import cron_expression, next_schedule
from ome.publishers.record_file import FinishedFile, check_writable, expand_path, resolve, write_info


def test_expand_path_macros_and_time_letters():
    start = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    end = start + 3661
    values = {"VirtualHost": "default", "Application": "app", "Stream": "s", "Sequence": "3"}
    got = expand_path("${VirtualHost}/${Application}/${Stream}_${Sequence}_${StartTime:YYYYMMDDhhmmss}"
                      "_${EndTime:YY-MM-DD hh.mm.ss}_${Unknown}.mp4", values, start, end)
    assert got == "default/app/s_3_20260304050607_26-03-04 06.07.08_${Unknown}.mp4"


def test_resolve_relative_to_root_then_config_dir(tmp_path):
    assert resolve("/abs/x.mp4", "root", tmp_path) == Path("/abs/x.mp4")
    assert resolve("x.mp4", "root", tmp_path) == tmp_path / "root" / "x.mp4"
    assert resolve("x.mp4", "/r", tmp_path) == Path("/r/x.mp4")
    assert resolve("x.mp4", "", tmp_path) == tmp_path / "x.mp4"
    assert check_writable(tmp_path / "new" / "dir") is None
    assert check_writable(Path("/proc/nope")) is not None


@pytest.mark.parametrize("schedule, after, want", [
    ("0 0 */1", (2026, 1, 1, 10, 20, 30), (2026, 1, 1, 11, 0, 0)),     # every hour on the hour
    ("10 */1 *", (2026, 1, 1, 10, 20, 30), (2026, 1, 1, 10, 21, 10)),  # second 10 of every minute
    ("*/4 * *", (2026, 1, 1, 10, 20, 30), (2026, 1, 1, 10, 20, 32)),
])
def test_ome_cron_form_is_second_minute_hour(schedule, after, want):
    t = time.mktime((*after, 0, 0, -1))
    assert time.localtime(next_schedule(schedule, t))[:6] == want
    assert len(cron_expression(schedule).split()) == 6


def test_split_url_appends_the_stream_key():
    assert split_url("rtmp://h:1935/app", "key") == ("h", 1935, False, "app", "key", "rtmp://h:1935/app")
    assert split_url("rtmps://h/live/sub", "k?x=1") == ("h", 443, True, "live/sub", "k?x=1", "rtmps://h:443/live/sub")
    assert split_url("rtmp://h/app/name", "") == ("h", 1935, False, "app", "name", "rtmp://h:1935/app")


def _stream() -> SimpleNamespace:
    tracks = [Track(0, MediaKind.VIDEO, "H264", 90000, b"x", name="v1"),
              Track(1, MediaKind.AUDIO, "AAC", 48000, b"y", name="a1"),
              Track(2, MediaKind.VIDEO, "H265", 90000, b"z", name="v2"),
              Track(3, MediaKind.AUDIO, "OPUS", 48000, b"o", name="a2")]
    return SimpleNamespace(tracks={t.id: t for t in tracks})


def test_select_tracks():
    s = _stream()
    assert [t.id for t in select_tracks(s, [], [], TS_CODECS, first_of_each=False)] == [0, 2, 1]
    assert [t.id for t in select_tracks(s, [], [], FLV_CODECS, first_of_each=True)] == [0, 1]
    assert [t.id for t in select_tracks(s, [3], ["v2"], ("H264", "H265", "AAC", "OPUS"),
                                        first_of_each=False)] == [2, 3]


def test_push_queue_keeps_one_gop_while_disconnected_and_is_bounded_when_stalled():
    q = PushQueue()
    q.push(0, Packet(0, 0, 0, False, b"a"), False, 0)            # before any key frame: not queued
    assert not q.items and q.dropped_frames == 0
    for gop in range(3):
        q.push(0, Packet(0, gop * 10, gop * 10, True, b"k" * 10), True, 0)
        q.push(1, Packet(1, gop * 10, gop * 10, True, b"a" * 5), False, 0)
    assert len(q.items) == 2 and q.items[0][1].dts == 20           # the current GOP only
    q.connected = q.ever_connected = True
    q.push(0, Packet(0, 40, 40, False, b"p"), False, 5000)          # spans > 4 s: cleared
    assert not q.items and q.bytes == 0 and q.dropped_frames == 3 and q.need_key
    q.push(1, Packet(1, 41, 41, True, b"a"), False, 0)              # waits for a key frame
    assert q.dropped_frames == 4 and not q.items
    q.push(0, Packet(0, 50, 50, True, b"k"), True, 0)
    assert len(q.items) == 1 and not q.need_key


def test_info_xml(tmp_path):
    task = SimpleNamespace(transaction_id="T" * 16, id="r<1>", vhost="default", app_name="app",
                           request=SimpleNamespace(stream_name="s", interval=3000, schedule=""),
                           created_text="2026-01-01T00:00:00.000+00:00")
    files = [FinishedFile(str(tmp_path / f"s_{i}.mp4"), i, 100 + i, 3000, 1.0e9, 1.0e9 + 3) for i in range(2)]
    write_info(tmp_path / "info.xml", task, files)
    root = ET.parse(tmp_path / "info.xml").getroot()
    items = root.findall("file")
    assert [i.findtext("sequence") for i in items] == ["0", "1"]
    assert items[0].findtext("id") == "r<1>" and items[1].findtext("lastSequence") == "1"
    assert items[1].findtext("filePath") == str(tmp_path / "s_1.mp4") and items[0].findtext("interval") == "3000"
    assert items[0].findtext("createdTime") == task.created_text
    assert not list(tmp_path.glob(".*.tmp"))


def test_stream_map_items_bodies_and_errors_name_file_and_line(tmp_path):
    from ome.publishers.stream_map import StreamMapError, StreamMaps, parse

    good = tmp_path / "push.xml"
    good.write_text("<PushInfo>\n<Push><Enable>true</Enable><StreamName>cam*</StreamName><Protocol>rtmp</Protocol>\n"
                    "<Url>rtmp://h/${Application}</Url><StreamKey>${Stream}-${SourceStream}</StreamKey>\n"
                    "<VariantNames>v, a</VariantNames></Push>\n"
                    "<Push><Enable>false</Enable><StreamName>*</StreamName></Push>\n</PushInfo>\n")
    items = parse(good, "push")
    assert len(items) == 1 and items[0].matches("cam7") and not items[0].matches("xcam")
    config = SimpleNamespace(enable=True, path="push.xml")
    maps = StreamMaps("push", tmp_path)
    (body,) = maps.bodies(config, "live", "cam1", "src")
    assert body == {"protocol": "rtmp", "url": "rtmp://h/live", "streamKey": "cam1-src",
                    "stream": {"name": "cam1", "variantNames": ["v", "a"]}, "id": "map2_cam1"}
    assert maps.bodies(config, "live", "other", "src") == []
    assert maps.bodies(SimpleNamespace(enable=False, path="push.xml"), "live", "cam1", "s") == []

    bad = {
        "<PushInfo>\n<Push><StreamName>x</StreamName>\n</PushInfo>": ":3: malformed XML",
        "<RecordInfo/>": ":1: the root element must be <PushInfo>",
        "<PushInfo>\n\n<Push><Enable>yes</Enable></Push></PushInfo>": ":3: <Enable> must be true or false",
        "<PushInfo>\n<Push><Protocol>rtmp</Protocol></Push></PushInfo>": ":2: <Push> needs a <StreamName>",
    }
    for text, where in bad.items():
        path = tmp_path / "bad.xml"
        path.write_text(text)
        with pytest.raises(StreamMapError) as err:
            parse(path, "push")
        assert str(err.value).startswith(str(path) + where), str(err.value)
    rec = tmp_path / "rec.xml"
    rec.write_text("<RecordInfo><Record><StreamName>s</StreamName><SegmentInterval>soon</SegmentInterval>"
                   "</Record></RecordInfo>")
    with pytest.raises(StreamMapError, match=r"rec\.xml:1: <SegmentInterval> must be milliseconds"):
        parse(rec, "record")
    assert StreamMaps("record", tmp_path).items(SimpleNamespace(enable=True, path="rec.xml")) == []   # logged
