"""The boundary of a ``multipart/byteranges`` answer, read from its Content-Type parameters.

containers/image reads it with ``parseMediaType`` (docker/docker_image_src.go, a copy of Go's
``mime.ParseMediaType`` that also takes ``:`` in a token): parameters are matched by name, so a
parameter whose name merely ends in ``boundary`` is not the boundary.
"""

from __future__ import annotations

import pytest

from imgextract.registry.ranges import multipart_boundary


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (
            "multipart/byteranges; boundary=CloudFront:3F750DE0752BEDE3882F7DBE80010D31",
            "CloudFront:3F750DE0752BEDE3882F7DBE80010D31",
        ),
        ("multipart/byteranges; boundary=00000000000061573284", "00000000000061573284"),
        ('multipart/byteranges; boundary="@:"', "@:"),
        ("multipart/byteranges; foo=bar; boundary=b1; bar=baz", "b1"),
        ("multipart/byteranges;BOUNDARY=b2", "b2"),
        ("multipart/byteranges; xboundary=wrong; boundary=right", "right"),
        ('multipart/byteranges; note="boundary=wrong"; boundary=right', "right"),
        ("multipart/byteranges; xboundary=wrong", None),
        ("multipart/byteranges", None),
    ],
)
def test_the_boundary_parameter_is_found_by_name(content_type: str, boundary: str | None) -> None:
    assert multipart_boundary(content_type) == boundary
