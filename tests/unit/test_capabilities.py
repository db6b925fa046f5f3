import pytest
from pydantic import ValidationError

from shared.printing.capabilities import Capabilities, intersect

A4, LETTER, A3 = "iso_a4_210x297mm", "na_letter_8.5x11in", "iso_a3_297x420mm"


def _caps(**kw: object) -> Capabilities:
    base: dict[str, object] = {
        "document_format_supported": ["application/pdf", "image/pwg-raster"],
        "media_supported": [A4, LETTER],
        "sides_supported": ["one-sided", "two-sided-long-edge"],
        "print_color_mode_supported": ["monochrome", "color"],
        "printer_resolution_supported": [{"x": 300, "y": 300}, {"x": 600, "y": 600}],
        "copies_supported": {"min": 1, "max": 99},
    }
    base.update(kw)
    return Capabilities.model_validate(base)


def test_fingerprint_is_stable_and_sensitive() -> None:
    assert _caps().fingerprint() == _caps().fingerprint()
    assert _caps().fingerprint() != _caps(media_supported=[A4]).fingerprint()


def test_repeats_are_dropped_in_order() -> None:
    assert _caps(media_supported=[LETTER, A4, LETTER]).media_supported == [LETTER, A4]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sides_supported", ["three-sided"]),
        ("media_supported", ["A4 paper"]),
        ("document_format_supported", ["pdf"]),
        ("copies_supported", {"min": 5, "max": 2}),
        ("copies_supported", {"min": 0, "max": 2}),
        ("media_default", A3),
        ("colour", ["red"]),
    ],
)
def test_invalid_reports_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        _caps(**{field: value})
    assert field in str(err.value)


def test_intersection_keeps_what_every_member_supports() -> None:
    office = _caps(media_supported=[A4, LETTER, A3], media_default=A4)
    small = _caps(
        media_supported=[LETTER, A4],
        media_default=A4,
        sides_supported=["one-sided"],
        print_color_mode_supported=["monochrome"],
        printer_resolution_supported=[{"x": 600, "y": 600}],
        copies_supported={"min": 1, "max": 10},
        document_format_supported=["application/pdf"],
    )
    both = intersect([office, small])
    assert both.media_supported == [A4, LETTER]
    assert both.media_default == A4
    assert both.sides_supported == ["one-sided"]
    assert both.print_color_mode_supported == ["monochrome"]
    assert [r.x for r in both.printer_resolution_supported] == [600]
    assert (both.copies_supported.min, both.copies_supported.max) == (1, 10)
    assert both.document_format_supported == ["application/pdf"]
    assert intersect([office]) == office


def test_nothing_in_common_is_empty_not_an_error() -> None:
    both = intersect([_caps(media_supported=[A4]), _caps(media_supported=[LETTER])])
    assert both.media_supported == []
    assert both.missing_essentials() == ["media_supported"]
    assert intersect([]).media_supported == []
