"""``copy --json``: the copier's running report and the library's frozen result give one object."""

from __future__ import annotations

from collections import Counter

from imgextract.imgpkg.copy import CopyResult as CopyReport
from imgextract.results import CopyResult

DIGEST = "sha256:" + "a" * 64


def test_the_report_and_the_result_give_the_same_json() -> None:
    report = CopyReport(
        source="127.0.0.1:5000/src/bundle:v1",
        destination="127.0.0.1:5000/dst/all",
        digest=DIGEST,
        tag="v1",
        images={DIGEST: "127.0.0.1:5000/src/app@" + DIGEST},
        bundles=[DIGEST],
        locations={DIGEST: "sha256:" + "b" * 64},
        blobs=Counter({"copied": 3, "existing": 1}),
    )
    expected = {
        "source": "127.0.0.1:5000/src/bundle:v1",
        "destination": "127.0.0.1:5000/dst/all",
        "bundle": "127.0.0.1:5000/dst/all@" + DIGEST,
        "digest": DIGEST,
        "tag": "v1",
        "images": 1,
        "bundles": [DIGEST],
        "locations": {DIGEST: "sha256:" + "b" * 64},
        "blobs": {"copied": 3, "existing": 1},
    }
    assert report.to_json() == expected
    assert CopyResult.from_report(report).to_json() == expected
    assert type(CopyResult.from_report(report).to_json()["bundles"]) is list
