"""regfix: test fixtures for bundle-extract — OCI layouts, fixture bundles, real registries, fault proxy.

Test-only code. It may shell out to skopeo/umoci (test oracles) and runs Debian's docker-registry binary.
"""
