"""Studio branding: YAML and command-line values, the logo embedded as a data URI, errors naming the key."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from qc.branding import MAX_LOGO_BYTES, Branding, load_branding, logo_data_uri
from qc.errors import QCError

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


def test_a_brand_file_with_a_logo_relative_to_it(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "logo.png").write_bytes(PNG)
    brand = tmp_path / "brand.yaml"
    brand.write_text(
        "studio: Blue Room\nlogo: assets/logo.png\ncontact: hi@blue.example\nfooter: Unit 4\n"
        "note: |\n  Thanks!\n  Two lines.\naccent_color: '#0b5394'\n",
        encoding="utf-8",
    )
    branding = load_branding(brand)
    assert branding.studio == "Blue Room" and branding.note == "Thanks!\nTwo lines.\n"
    assert branding.logo == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert branding.accent_color == "#0b5394"


def test_command_line_values_override_the_file_and_none_is_ignored(tmp_path):
    brand = tmp_path / "brand.yaml"
    brand.write_text("studio: Blue Room\nnote: from the file\n")
    branding = load_branding(brand, {"studio": "Red Room", "note": None})
    assert (branding.studio, branding.note) == ("Red Room", "from the file")


def test_a_logo_given_on_the_command_line_is_relative_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logo.svg").write_bytes(SVG)
    assert load_branding(None, {"logo": "logo.svg"}).logo.startswith("data:image/svg+xml;base64,")


def test_no_branding_is_empty():
    assert load_branding().empty and not load_branding(None, {"studio": "X"}).empty


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "image/jpeg"),
        (b"GIF89a" + b"\0" * 16, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (SVG, "image/svg+xml"),
    ],
    ids=["png", "jpeg", "gif", "webp", "svg"],
)
def test_logo_types_are_recognised_by_their_content(tmp_path, data, mime):
    logo = tmp_path / "logo.bin"
    logo.write_bytes(data)
    assert logo_data_uri(logo).startswith(f"data:{mime};base64,")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"%PDF-1.7 not an image", "not a PNG, JPEG, GIF, WebP or SVG"),
        (PNG + b"\0" * MAX_LOGO_BYTES, "use an image under 1024 KiB"),
    ],
    ids=["not-an-image", "too-large"],
)
def test_bad_logos_are_refused(tmp_path, content, match):
    logo = tmp_path / "logo.png"
    logo.write_bytes(content)
    with pytest.raises(QCError, match=match):
        logo_data_uri(logo)


def test_a_missing_logo_names_the_file(tmp_path):
    with pytest.raises(QCError, match=r"nope\.png: cannot read the logo"):
        load_branding(None, {"logo": str(tmp_path / "nope.png")})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("studio: X\ncolour: red\n", r"brand\.yaml: colour: unknown key"),
        ("accent_color: red\n", r"accent_color: expected a colour like '#0b5394'"),
        ("accent_color: '#123456; background: url(x)'\n", "accent_color"),
        ("- just\n- a list\n", "expected a mapping"),
        ("studio: [unclosed\n", r"brand\.yaml:2:1: not valid YAML"),
        ("logo: 'https://example.com/logo.png'\n", "cannot read the logo"),
    ],
    ids=["unknown-key", "bad-colour", "css-injection", "not-a-mapping", "bad-yaml", "url-logo"],
)
def test_a_bad_brand_file_names_the_file_and_key(tmp_path, text, match):
    brand = tmp_path / "brand.yaml"
    brand.write_text(text)
    with pytest.raises(QCError, match=match):
        load_branding(brand)


def test_the_model_accepts_only_data_uri_logos():
    with pytest.raises(ValidationError):
        Branding(logo="https://example.com/logo.png")
    with pytest.raises(ValidationError):
        Branding(logo="data:text/html;base64,PHNjcmlwdD4=")
