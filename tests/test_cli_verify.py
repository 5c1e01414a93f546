"""ptpctl verifies what it writes before the rename (size the daemon reported, JPEG end
marker), names the handle when it refuses, and reads well: datatype names in describe,
"exist" for several files. A stub client stands in for the daemon so the corrupt buffers
are exactly the ones under test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ptpctl.cli import Session, cli
from ptpctl.output import hexv
from ptpd_client._camera import CaptureResult, Download
from ptpd_client._desc import PropDesc
from ptpd_console.files import Incomplete, write_atomic

# a minimal JPEG: SOI, a comment segment, EOI
JPEG = b"\xff\xd8\xff\xfe\x00\x06test\xff\xd9"


class StubClient:
    def __init__(self, data: bytes, size: int, filename: str = "DSCF0001.JPG") -> None:
        self.data, self.size, self.filename = data, size, filename

    def capture(self, count: int, **kw: Any) -> CaptureResult:
        return CaptureResult.from_dict(
            {
                "shots": [
                    {"index": 1, "handle": 0x10 + i, "filename": self.filename, "size": self.size, "data": self.data}
                    for i in range(count)
                ]
            }
        )

    def download(self, handle: int, **kw: Any) -> Download:
        return Download.from_dict({"handle": handle, "filename": self.filename, "size": self.size, "data": self.data})

    def describe(self, prop: str, **kw: Any) -> PropDesc:
        return PropDesc.from_dict(
            {
                "code": 0x500F,
                "name": "iso",
                "datatype": 6,
                "datatype_name": self.filename,
                "writable": True,
                "current": {"value": 800, "label": "800"},
                "form": "none",
            }
        )

    def close(self) -> None:
        pass


def invoke(client: StubClient, *args: str) -> Any:
    session = Session()
    session._client = client  # type: ignore[assignment]  # a stub client
    return CliRunner().invoke(cli, list(args), obj=session)


def test_write_atomic_verifies_size_and_jpeg_end_before_the_rename(tmp_path: Path) -> None:
    ok = tmp_path / "ok.jpg"
    write_atomic(ok, JPEG + b"\0" * 100, expected_size=len(JPEG) + 100)  # zero padding is fine
    assert ok.read_bytes().startswith(JPEG)
    with pytest.raises(Incomplete, match="reported"):
        write_atomic(tmp_path / "short.jpg", JPEG, expected_size=len(JPEG) + 1)
    with pytest.raises(Incomplete, match="FFD9"):
        write_atomic(tmp_path / "cut.jpg", JPEG[:-3])  # detected as JPEG by its FFD8 start
    with pytest.raises(Incomplete, match="FFD9"):
        write_atomic(tmp_path / "junk.jpg", b"\x00\x01junk", jpeg=True)
    write_atomic(tmp_path / "blob.raf", b"FUJIFILMCCD-RAW \x00\x01", expected_size=18)  # not a JPEG: size only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.raf", "ok.jpg"]  # no temp files left


@pytest.mark.parametrize("data, size", [(JPEG[:-2], len(JPEG) - 2), (JPEG, len(JPEG) + 4096)])
def test_capture_refuses_a_corrupt_image_and_names_the_handle(tmp_path: Path, data: bytes, size: int) -> None:
    r = invoke(StubClient(data, size), "capture", str(tmp_path / "shot.jpg"))
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and f"handle {hexv(0x10)}:" in lines[0], lines
    assert "stays on the camera" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_capture_into_a_directory_refuses_a_corrupt_image(tmp_path: Path) -> None:
    r = invoke(StubClient(JPEG, len(JPEG) + 4096), "capture", "-o", str(tmp_path))
    assert r.exit_code == 1
    (line,) = r.output.strip().splitlines()
    assert f"handle {hexv(0x10)}:" in line and f"{tmp_path / 'DSCF0001.JPG'} not written" in line
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_corrupt_image_and_names_the_handle(tmp_path: Path) -> None:
    r = invoke(StubClient(JPEG[:-1], len(JPEG) - 1), "download", "0x2a", "-o", str(tmp_path))
    assert r.exit_code == 1
    assert f"handle {hexv(0x2A)}:" in r.output and "incomplete" in r.output and len(r.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    r = invoke(StubClient(JPEG, len(JPEG)), "download", "0x2a", "-o", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "DSCF0001.JPG").read_bytes() == JPEG


def test_capture_of_a_good_image_writes_it(tmp_path: Path) -> None:
    r = invoke(StubClient(JPEG, len(JPEG)), "capture", "2", str(tmp_path / "shot.jpg"), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["shots"][1]["saved"] == str(tmp_path / "shot-2.jpg")
    assert (tmp_path / "shot-1.jpg").read_bytes() == JPEG


def test_existing_files_singular_and_plural(tmp_path: Path) -> None:
    (tmp_path / "shot-1.jpg").write_bytes(b"x")
    (tmp_path / "shot-2.jpg").write_bytes(b"x")
    r = invoke(StubClient(JPEG, len(JPEG)), "capture", "2", str(tmp_path / "shot.jpg"))
    assert r.exit_code == 2 and "shot-2.jpg exist;" in r.output
    (tmp_path / "one.jpg").write_bytes(b"x")
    r = invoke(StubClient(JPEG, len(JPEG)), "capture", str(tmp_path / "one.jpg"))
    assert r.exit_code == 2 and "one.jpg exists;" in r.output


def test_describe_shows_the_datatype_name_or_the_number() -> None:
    r = invoke(StubClient(JPEG, 0, filename="UINT16"), "describe", "iso")
    assert r.exit_code == 0, r.output
    assert [line.split(None, 1)[1] for line in r.output.splitlines() if line.startswith("Datatype")] == ["UINT16 (6)"]
    r = invoke(StubClient(JPEG, 0, filename=""), "describe", "iso")
    assert [line.split(None, 1)[1] for line in r.output.splitlines() if line.startswith("Datatype")] == ["6"]
