"""The optional C extension; everything else is in pyproject.toml.

goyaml's event loop in C over the system libyaml (Debian libyaml-dev).  Optional: without a C
compiler or libyaml's headers the build goes on without it, and the YAML reader runs in Python
(the same values, slower).  CI requires it (IMGEXTRACT_REQUIRE_CEXT in .ci/run).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imgextract.catalog.render._goyamlc",
            sources=["imgextract/catalog/render/_goyamlc.c"],
            libraries=["yaml"],
            extra_compile_args=["-Wall", "-Wextra"],
            optional=True,
        )
    ]
)
